// The async engine API (`spawn()`): the same calls whether the engine lives in a dedicated worker or in this
// thread, and the same bits as the synchronous Engine. Browsers run it from the page in test/browser.test.ts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { init, spawn, type Checkpoint } from '../ts/src/index.js';
// @ts-expect-error: plain JS module shared with the browser pages
import { trainFixture, trainFixtureRemote } from './browser/train-fixture.js';

const run = promisify(execFile);
const PLAIN = { threads: 2, relaxedSimd: false };
type Result = { info: { build: string; threads: number }; hex: string; where?: string; batches?: number };
// The built package: a Node worker loads its host script natively from ts/dist (scripts/setup.sh builds it).
const dist = (): Promise<typeof import('../ts/src/index.js')> => import('../ts/dist/index.js' as string);

describe('spawn(): the async engine API', () => {
  it('in this thread: same bits as the synchronous engine; callbacks run in order', async () => {
    const want = (await trainFixture(init, PLAIN)) as Result;
    const got = (await trainFixtureRemote(spawn, { ...PLAIN, where: 'local' })) as Result;
    expect(got).toMatchObject({ where: 'local', batches: 3, info: { build: 'simd-threads', threads: 2 } });
    expect(got.hex).toBe(want.hex);
  });

  it('in a node:worker_threads worker: the threaded build, same bits, callbacks forwarded', async () => {
    const want = (await trainFixture(init, PLAIN)) as Result;
    const got = (await trainFixtureRemote((await dist()).spawn, { ...PLAIN, where: 'worker' })) as Result;
    expect(got).toMatchObject({ where: 'worker', batches: 3, info: { build: 'simd-threads', threads: 2 } });
    expect(got.hex).toBe(want.hex);
  });

  for (const where of ['local', 'worker'] as const) {
    it(`${where}: errors keep their class and message; the engine stays usable; terminate ends it`, async () => {
      const e = await (await dist()).spawn({ threads: 1, where });
      await expect(e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 0 }] })).rejects.toThrow(RangeError);
      await expect(e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 0 }] })).rejects.toThrow(/units must be in/);
      const m = await e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 2 }], seed: 3 });
      const before = await m.getWeights();
      // A wrong input size is refused before anything changes.
      await expect(m.fit(new Float32Array(6), [0, 1])).rejects.toThrow(/x has 6 values/);
      expect(await m.getWeights()).toEqual(before);
      // A callback that throws stops fit with its error, in the caller's thread.
      const x = new Float32Array(16).map((_, i) => Math.cos(i));
      await expect(m.fit(x, [0, 1, 1, 0], { batchSize: 2, callbacks: { onBatchEnd: () => { throw new Error('stop here'); } } })).rejects.toThrow('stop here');
      const opt = await e.optimizer({ type: 'rmsprop', lr: 1e-2, momentum: 0.9 }, m);
      await m.fit(x, [0, 1, 1, 0], { batchSize: 2, optimizer: opt });
      await m.fit(x, [0, 1, 1, 0], { batchSize: 2, optimizer: opt });
      expect(await opt.steps()).toBe(4);
      const saved = await opt.saveState();
      expect(saved).toMatchObject({ format: 'wasmcnn.optimizer', type: 'rmsprop', steps: 4 });
      await expect(opt.loadState({ ...saved, type: 'adam' })).rejects.toThrow(/adam/);
      await opt.loadState(saved);
      expect(Object.keys(await opt.state())).toEqual(['square_avg', 'momentum_buffer']);
      const p = await m.predict(x);
      expect(p.length).toBe(8);
      expect(p[0] + p[1]).toBeCloseTo(1, 6);
      await opt.dispose();
      await m.dispose();
      await expect(m.getWeights()).rejects.toThrow(/disposed/);
      expect(await e.liveBytes()).toBe(0);
      await e.terminate();
      await expect(e.sequential({ inputShape: [4], layers: [] })).rejects.toThrow(/terminated/);
      await e.terminate(); // twice is fine
    });
  }

  for (const where of ['local', 'worker'] as const) {
    it(`${where}: checkpoints come back to the caller; resuming from one gives the straight run's bits`, async () => {
      const e = await (await dist()).spawn({ threads: 2, where, relaxedSimd: false });
      const spec = { inputShape: [6], layers: [{ type: 'dense', units: 8 }, { type: 'relu' }, { type: 'dense', units: 3 }] as const, seed: 2 };
      const x = new Float32Array(60 * 6).map((_, i) => Math.sin(i));
      const y = Array.from({ length: 60 }, (_, i) => i % 3);
      const opts = { epochs: 4, batchSize: 8, optimizer: { type: 'adamw', lr: 0.01 } as const, schedule: { type: 'cosine', tMax: 4 } as const };
      const straight = await e.sequential(spec);
      const saved: Checkpoint[] = [];
      await straight.fit(x, y, { ...opts, checkpoint: { every: 2, save: (c) => void saved.push(c) } });
      expect(saved.map((c) => c.epoch)).toEqual([2, 4]);
      const resumed = await e.sequential(spec);
      await resumed.fit(x, y, { ...opts, resume: saved[0] });
      expect(await resumed.getWeights()).toEqual(await straight.getWeights());
      await e.terminate();
    });
  }

  it('refuses a local Optimizer and a bad placement', async () => {
    await expect(spawn({ where: 'elsewhere' as 'auto' })).rejects.toThrow(/where must be 'auto', 'worker' or 'local'/);
    const local = await init({ threads: 1 });
    const e = await spawn({ threads: 1, where: 'local' });
    const m = await e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 2 }] });
    using opt = local.optimizer('adam', 10);
    await expect(m.fit(new Float32Array(8), [0, 1], { optimizer: opt as never })).rejects.toThrow(/not a local Optimizer/);
    await e.terminate();
  });

  for (const mode of ['--terminate', '--no-terminate']) {
    it(`a Node process with an engine in a worker exits on its own (${mode})`, async () => {
      const script = new URL('./fixtures/remote-exit.ts', import.meta.url).pathname;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', script, mode], { timeout: 30_000 });
      expect(JSON.parse(stdout.trim())).toMatchObject({ build: 'simd-threads', threads: 2, where: 'worker' });
    });
  }
});

describe('spawn(): the model API beyond fit', () => {
  it('loadWeights/saveWeights, lrFind with a remote optimizer, modes, and every fit callback forwarded', async () => {
    const { spawn } = await import('../ts/src/index.js');
    const r = await spawn({ where: 'local', threads: 1 });
    const m = await r.model({ inputShape: [4], layers: [{ type: 'dense', units: 3 }], seed: 1 });
    const bytes = await m.saveWeights();
    const n = await r.model({ inputShape: [4], layers: [{ type: 'dense', units: 3 }], seed: 2 });
    const report = await n.loadWeights(bytes);
    expect(report.loaded).toEqual(['0.weight', '0.bias']);
    expect(await n.getWeights()).toEqual(await m.getWeights());
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const y = Array.from({ length: 16 }, (_, i) => i % 3);
    const opt = await r.optimizer({ type: 'adam', lr: 1e-3 }, m);
    const before = await opt.saveState();
    const f = await m.lrFind(x, y, { optimizer: opt, steps: 20, batchSize: 4 });
    expect(f.lrs.length).toBeGreaterThan(2);
    expect(await opt.saveState()).toEqual(before);
    const seen: string[] = [];
    await m.eval();
    await m.train();
    await m.fit(x, y, { epochs: 8, batchSize: 4, optimizer: { type: 'adam', lr: 1e-7 }, advisor: true, callbacks: { onFinding: () => void seen.push('finding'), onBatchEnd: () => void seen.push('batch') } });
    expect(seen).toContain('finding');
    expect(seen).toContain('batch');
    await r.terminate();
  });
});
