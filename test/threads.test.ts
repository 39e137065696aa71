// The threaded build: chosen by capability, bitwise-deterministic whatever the thread count, falls back
// cleanly, and never keeps a Node process alive.
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET, normalize } from '../examples/mnist-demo-model.js';
import { init } from '../ts/src/index.js';
import { RELAXED, SINGLE_BUILD, THREADED_BUILD } from './helpers.js';

const run = promisify(execFile);
const data = loadMnist(5, 384, 10);
normalize(data.trainImages);

async function trainedWeights(threads: number, relaxedSimd: boolean): Promise<{ build: string; threads: number; bits: Buffer }> {
  const e = await init({ threads, relaxedSimd });
  try {
    using m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 3, init: 'pytorch' });
    await m.fit(data.trainImages, data.trainLabels, { epochs: 2, batchSize: 48, seed: 3, optimizer: { type: 'rmsprop', lr: 1e-3, centered: true } });
    const w = m.getWeights();
    const bits = Buffer.concat(Object.values(w).map((a) => Buffer.from(a.buffer)));
    return { build: e.info().build, threads: e.info().threads, bits };
  } finally {
    await e.terminate();
  }
}

describe('threads', () => {
  it("'auto' uses every core the runtime reports", async () => {
    const e = await init();
    const cores = os.availableParallelism();
    expect(e.info()).toMatchObject({ build: cores > 1 ? THREADED_BUILD : SINGLE_BUILD, threads: cores });
    await e.terminate();
  });

  for (const relaxed of RELAXED ? [false, true] : [false]) {
    const [single, threaded] = relaxed ? ['relaxed-simd', 'relaxed-simd-threads'] : ['simd', 'simd-threads'];
    it(`${single} builds: training gives bitwise-identical weights on 1, 2, 3 and 4 threads`, async () => {
      const one = await trainedWeights(1, relaxed);
      expect(one).toMatchObject({ build: single, threads: 1 });
      for (const t of [2, 3, 4]) {
        const r = await trainedWeights(t, relaxed);
        expect(r).toMatchObject({ build: threaded, threads: t });
        expect(r.bits.equals(one.bits), `${t} threads differ from 1`).toBe(true);
      }
    });
  }

  it('falls back to the single-threaded build, and says why, without SharedArrayBuffer', async () => {
    const saved = globalThis.SharedArrayBuffer;
    // @ts-expect-error: simulating a runtime without shared memory
    delete globalThis.SharedArrayBuffer;
    try {
      const e = await init({ threads: 2 });
      expect(e.info()).toMatchObject({ build: SINGLE_BUILD, threads: 1 });
      expect(e.info().reason).toMatch(/SharedArrayBuffer is not available; using the single-threaded build/);
      using m = e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 2 }] });
      await m.fit(new Float32Array(8), [0, 1]);
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
  });

  it('a terminated engine refuses use with a clear error', async () => {
    const e = await init({ threads: 2 });
    const m = e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 2 }] });
    await e.terminate();
    await expect(m.fit(new Float32Array(8), [0, 1])).rejects.toThrow(/engine was terminated/);
    await e.terminate(); // twice is fine
  });

  it('rejects a bad thread count', async () => {
    await expect(init({ threads: 0 })).rejects.toThrow(/threads must be 'auto' or an integer in \[1, 256\], got 0/);
  });

  for (const mode of ['--terminate', '--no-terminate']) {
    it(`a Node process that used threads exits on its own (${mode})`, async () => {
      const script = new URL('./fixtures/threads-exit.ts', import.meta.url).pathname;
      const t0 = performance.now();
      const { stdout } = await run(process.execPath, ['--import', 'tsx', script, mode], { timeout: 30_000 });
      expect(JSON.parse(stdout.trim())).toMatchObject({ build: 'simd-threads', threads: 2 });
      expect(performance.now() - t0).toBeLessThan(30_000);
    });
  }
});
