// Every wasm allocation has an owner: dispose() returns it, and a long training run keeps memory flat.
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET } from '../examples/mnist-demo-model.js';
import { engine } from './helpers.js';

describe('memory', () => {
  it('a long training run keeps allocations and the wasm heap flat, and dispose frees everything', async () => {
    const e = await engine();
    const base = e.liveBytes();
    const d = loadMnist(4, 512, 64);
    const m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 1 });
    const opt = e.optimizer({ type: 'adam', amsgrad: true }, m);
    const round = async () => {
      await m.fit(d.trainImages, d.trainLabels, { epochs: 2, batchSize: 64, optimizer: opt });
      await m.fit(d.trainImages, d.trainLabels, { epochs: 1, batchSize: 64, optimizer: { type: 'rmsprop', centered: true } });
      await m.evaluate(d.testImages, d.testLabels);
      await m.predict(d.testImages);
    };
    // Warm-up: each pool thread grows its own kernel scratch the first times it runs each layer, and
    // which thread runs which task is up to work stealing; two rounds give every thread every kind.
    await round();
    await round();
    const live = e.liveBytes();
    const heap = e.exports.memory.buffer.byteLength;
    for (let i = 0; i < 4; i++) {
      await round();
      expect(e.liveBytes()).toBe(live);
    }
    expect(e.exports.memory.buffer.byteLength).toBe(heap);
    opt.dispose();
    m.dispose();
    expect(e.liveBytes()).toBe(base);
  });

  it('the functional API frees its temporaries, also when it throws', async () => {
    const e = await engine();
    const base = e.liveBytes();
    const { ops } = await import('../ts/src/index.js');
    ops.relu(e, new Float32Array(1000));
    expect(() => ops.dense(e, { x: new Float32Array(6), xShape: [2, 3], weight: new Float32Array(6), weightShape: [2, 3], bias: new Float32Array(3) })).toThrow(/bias has length 3, expected 2/);
    expect(e.liveBytes()).toBe(base);
  });
});
