// Long runs keep memory flat: 10,000 LeNet training steps (wasm heap, live allocations and the JS heap after
// garbage collection), and 1,000 create/dispose cycles of models, optimizers and engines. The figures are
// printed for the closing note.
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET } from '../examples/mnist-demo-model.js';
import { init } from '../ts/src/index.js';
import { engine } from './helpers.js';

const gc = (globalThis as { gc?: () => void }).gc;
const MiB = 2 ** 20;
function jsHeap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

describe('long runs keep memory flat', () => {
  it('10,000 LeNet steps: wasm memory and live allocations identical after warm-up, JS heap flat', async () => {
    expect(gc, 'vitest runs with --expose-gc').toBeTypeOf('function');
    const e = await engine({ threads: 1 });
    const d = loadMnist(2, 512, 8);
    using m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 1 });
    using opt = e.optimizer({ type: 'adam', lr: 1e-3 }, m);
    const run = (epochs: number) => m.fit(d.trainImages, d.trainLabels, { epochs, batchSize: 8, optimizer: opt, telemetry: true, callbacks: { onBatchEnd: () => {} } });
    await run(16); // 1,024 steps of warm-up
    const wasm0 = e.exports.memory.buffer.byteLength;
    const live0 = e.liveBytes();
    const heap0 = jsHeap();
    await run(141); // 9,024 more: 10,048 in all
    const wasm1 = e.exports.memory.buffer.byteLength;
    const live1 = e.liveBytes();
    const heap1 = jsHeap();
    console.log(
      `10,048 steps: wasm memory ${wasm0 / MiB} → ${wasm1 / MiB} MiB, live ${live0} → ${live1} bytes, ` +
        `JS heap ${(heap0 / MiB).toFixed(2)} → ${(heap1 / MiB).toFixed(2)} MiB; optimizer at step ${opt.steps}`,
    );
    expect(opt.steps).toBe(10_048);
    expect(wasm1).toBe(wasm0);
    expect(live1).toBe(live0);
    expect(heap1 - heap0).toBeLessThan(2 * MiB);
  });

  it('1,000 create/dispose cycles of models, optimizers and engines', async () => {
    const e = await engine({ threads: 1 });
    const d = loadMnist(3, 16, 8);
    const live0 = e.liveBytes();
    for (let i = 0; i < 1000; i++) {
      const m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: i });
      const opt = e.optimizer({ type: 'rmsprop', centered: true, momentum: 0.9 }, m);
      if (i % 100 === 0) await m.fit(d.trainImages, d.trainLabels, { batchSize: 8, optimizer: opt });
      opt.dispose();
      m.dispose();
    }
    const live1 = e.liveBytes();
    console.log(`1,000 model + optimizer cycles: live ${live0} → ${live1} bytes`);
    expect(live1).toBe(live0);

    // Engines: 1,000 single-threaded ones (each trains a step), 100 threaded ones (two workers each).
    const rss = () => (jsHeap(), process.memoryUsage().rss);
    const cycle = async (threads: number) => {
      await using x = await init({ threads, relaxedSimd: false });
      using m = x.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 1 });
      await m.fit(d.trainImages.subarray(0, 8 * 784), d.trainLabels.slice(0, 8), { batchSize: 8 });
    };
    for (let i = 0; i < 50; i++) await cycle(1);
    const rss0 = rss();
    for (let i = 0; i < 950; i++) await cycle(1);
    const rss1 = rss();
    for (let i = 0; i < 10; i++) await cycle(2);
    const rss2 = rss();
    for (let i = 0; i < 90; i++) await cycle(2);
    const rss3 = rss();
    console.log(
      `engines: 950 single-threaded cycles RSS ${(rss0 / MiB).toFixed(0)} → ${(rss1 / MiB).toFixed(0)} MiB; ` +
        `90 threaded cycles ${(rss2 / MiB).toFixed(0)} → ${(rss3 / MiB).toFixed(0)} MiB`,
    );
    expect(rss1 - rss0).toBeLessThan(64 * MiB);
    expect(rss3 - rss2).toBeLessThan(64 * MiB);
  });
});
