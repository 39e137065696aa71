// Train here, continue in PyTorch: trains the demo's LeNet on MNIST with Adam for two epochs, then writes
// what PyTorch needs to carry on (examples/continue_in_pytorch.py runs DistributedDataParallel on it):
//   model.safetensors      the state_dict (torch's names: 0.weight, 3.weight, 7.weight, …)
//   optimizer.safetensors  Adam's state as torch.optim's state_dict (state.<i>.exp_avg, …, param_groups)
//   data.safetensors       the training digits (normalised) and labels
//   probe.safetensors      a fixed batch, its loss here, and the weights after one more Adam step on it here
// Usage: npx tsx examples/to-pytorch.ts <out-dir>
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, serializeSafetensors } from '../ts/src/index.js';
import { loadMnist } from './mnist-data.js';
import { LENET, normalize } from './mnist-demo-model.js';

const out = process.argv[2] ?? 'to-pytorch';
mkdirSync(out, { recursive: true });
const d = loadMnist(1, 8000, 2000);
normalize(d.trainImages);
const engine = await init();
const model = engine.model({ inputShape: [1, 28, 28], layers: LENET, seed: 1, init: 'pytorch' });
const adam = engine.optimizer({ type: 'adam', lr: 1e-3 }, model);
const history = await model.fit(d.trainImages, d.trainLabels, { epochs: 2, batchSize: 64, optimizer: adam, seed: 1 });
console.log(`trained here: epoch losses ${history.epochs.map((e) => e.loss.toFixed(4)).join(', ')}`);
writeFileSync(join(out, 'model.safetensors'), model.saveWeights());
writeFileSync(join(out, 'optimizer.safetensors'), adam.saveTorchState());
writeFileSync(
  join(out, 'data.safetensors'),
  serializeSafetensors({
    x: { dtype: 'F32', shape: [8000, 1, 28, 28], data: d.trainImages },
    y: { dtype: 'I64', shape: [8000], data: Array.from(d.trainLabels, BigInt) },
  }),
);

// The probe: the first 64 digits, their loss now, and where one more Adam step on them leads (on copies).
const px = d.trainImages.subarray(0, 64 * 784);
const py = d.trainLabels.slice(0, 64);
const probe = engine.modelFromJSON(model.toJSON());
const probeOpt = engine.optimizer({ type: 'adam', lr: 1e-3 }, probe);
probeOpt.loadState(adam.saveState());
const { loss } = probe.lossAndGradients(px, py);
await probe.fit(px, py, { epochs: 1, batchSize: 64, shuffle: false, optimizer: probeOpt, divergence: false });
const after = probe.getWeights();
writeFileSync(
  join(out, 'probe.safetensors'),
  serializeSafetensors(
    Object.fromEntries([
      ['x', { dtype: 'F32', shape: [64, 1, 28, 28], data: px }],
      ['y', { dtype: 'I64', shape: [64], data: Array.from(py, BigInt) }],
      ['loss', { dtype: 'F64', shape: [], data: [loss] }],
      ...Object.entries(after).map(([k, v]) => [`after.${k}`, { dtype: 'F32' as const, shape: model.stateShapes().find((s) => s.name === k)!.shape, data: v }]),
    ]),
  ),
);
console.log(`wrote ${out}/{model,optimizer,data,probe}.safetensors; probe loss here ${loss.toFixed(6)}`);
await engine.terminate();
