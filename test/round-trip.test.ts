// Round trips: a model with BatchNorm, residual blocks and dropout trained here, saved as JSON and as
// safetensors (with the optimizer's state, ours and torch.optim's), loads in a fresh engine and gives
// identical predictions and identical continued training, bitwise; a malformed file leaves the model as it was.
import { describe, expect, it } from 'vitest';
import { checkpointFromJSON, checkpointToJSON, init, models, type Checkpoint, type ModelSpec } from '../ts/src/index.js';

const spec: ModelSpec = {
  inputShape: [3, 12, 12],
  seed: 2,
  layers: [
    { type: 'conv2d', name: 'conv1', filters: 8, kernelSize: 3, padding: 1, useBias: false },
    { type: 'batchNorm2d', name: 'bn1' },
    { type: 'relu' },
    { type: 'sequential', name: 'layer1', layers: [models.basicBlock(8, 8, 1), models.basicBlock(8, 16, 2)] },
    { type: 'globalAvgPool2d' },
    { type: 'flatten' },
    { type: 'dropout', p: 0.25 },
    { type: 'dense', name: 'fc', units: 5 },
  ],
};
const x = Float32Array.from({ length: 24 * 3 * 144 }, (_, i) => Math.sin(i * 0.37));
const y = Array.from({ length: 24 }, (_, i) => i % 5);
const fit = { epochs: 2, batchSize: 8, seed: 4 } as const;

describe('save → load in a fresh engine → the same predictions and the same continued training', () => {
  it('JSON and safetensors, with the optimizer state (ours and torch.optim\'s)', async () => {
    const a = await init({ threads: 1, relaxedSimd: false });
    const m = a.model(spec);
    const opt = a.optimizer({ type: 'adam', lr: 3e-3 }, m);
    await m.fit(x, y, { ...fit, optimizer: opt });
    const json = JSON.stringify(m.toJSON());
    const file = m.saveWeights();
    const optState = opt.saveState();
    const torchState = opt.saveTorchState();
    const p0 = await m.predict(x);
    await m.fit(x, y, { ...fit, optimizer: opt });
    const after = m.getWeights();

    const b = await init({ threads: 2, relaxedSimd: false });
    for (const load of ['json', 'safetensors', 'torch.optim'] as const) {
      const n = load === 'json' ? b.modelFromJSON(JSON.parse(json)) : b.model(spec);
      if (load !== 'json') n.loadWeightsSync(file);
      expect(await n.predict(x)).toEqual(p0);
      const o = b.optimizer({ type: 'adam', lr: 3e-3 }, n);
      if (load === 'torch.optim') o.loadTorchState(torchState);
      else o.loadState(optState);
      // The dropout masks continue from the model's count of training forwards, which the JSON and our
      // safetensors' __metadata__ carry.
      await n.fit(x, y, { ...fit, optimizer: o });
      expect(n.getWeights()).toEqual(after);
      o.dispose();
      n.dispose();
    }
    await a.terminate();
    await b.terminate();
  });

  it('a checkpoint resumed in a fresh model continues bitwise, dropout masks included', async () => {
    const e = await init({ threads: 1, relaxedSimd: false });
    const opts = { ...fit, epochs: 3, optimizer: { type: 'adam', lr: 3e-3 } } as const;
    using whole = e.model(spec);
    await whole.fit(x, y, opts);
    using first = e.model(spec);
    let ck: Checkpoint | undefined;
    await first.fit(x, y, { ...opts, epochs: 1, checkpoint: { save: (c) => void (ck = c) } });
    expect(ck!.model.dropoutCounter).toBe(3);
    using resumed = e.model(spec);
    await resumed.fit(x, y, { ...opts, resume: checkpointFromJSON(checkpointToJSON(ck!)) });
    expect(resumed.getWeights()).toEqual(whole.getWeights());
    await expect(resumed.fit(x, y, { ...opts, resume: { ...ck!, model: { ...ck!.model, dropoutCounter: -1 } } })).rejects.toThrow(/resume: model.dropoutCounter must be a non-negative integer, got -1/);
    await e.terminate();
  });

  it('a malformed or mismatched file leaves the model exactly as it was', async () => {
    const e = await init({ threads: 1, relaxedSimd: false });
    using m = e.model(spec);
    const before = m.getWeights();
    const good = m.saveWeights();
    const truncated = good.slice(0, good.length - 7);
    expect(() => m.loadWeightsSync(truncated)).toThrow(RangeError);
    const header = new TextDecoder().decode(good.subarray(8, 8 + Number(new DataView(good.buffer).getBigUint64(0, true))));
    const renamed = new TextEncoder().encode(header.replace('"fc.bias"', '"fc.bias2"'));
    const bad = new Uint8Array(good.length);
    bad.set(good);
    bad.set(renamed, 8);
    expect(() => m.loadWeightsSync(bad)).toThrow(/Missing key\(s\) in state_dict: "fc.bias"\. \n\tUnexpected key\(s\) in state_dict: "fc.bias2"/);
    using other = e.model({ ...spec, layers: spec.layers.map((l) => (l.type === 'dense' ? { ...l, units: 7 } : l)) });
    expect(() => m.loadWeightsSync(other.saveWeights())).toThrow(/size mismatch for fc.weight: copying a param with shape \[7, 16\] from checkpoint, the shape in current model is \[5, 16\]/);
    const badCounter = m.saveWeights({ 'wasmcnn.dropout_counter': '-3' });
    expect(() => m.loadWeightsSync(badCounter)).toThrow(/__metadata__ 'wasmcnn.dropout_counter' must be a non-negative integer, got '-3'/);
    expect(() => e.modelFromJSON({ ...m.toJSON(), dropoutCounter: 1.5 })).toThrow(/dropoutCounter must be a non-negative integer, got 1.5/);
    expect(m.getWeights()).toEqual(before);
    expect(m._dropoutCounter).toBe(0);
    await e.terminate();
  });
});
