// Faults inside the engine: a trap poisons the engine (every later use refuses with EngineTrapError naming
// where it trapped, on both builds), and a new engine resumes bitwise from the last checkpoint taken before.
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET } from '../examples/mnist-demo-model.js';
import { EngineTrapError, init, type Checkpoint, type Engine } from '../ts/src/index.js';

const d = loadMnist(7, 256, 32);
const spec = { inputShape: [1, 28, 28], layers: LENET, seed: 9 };

/** A real trap (the test hook: every other export checks its buffers and refuses instead of trapping). */
function trap(e: Engine): void {
  e.exports.wcnn_debug_trap(0);
}

describe.each([
  { label: 'simd', threads: 1 },
  { label: 'threaded', threads: 2 },
])('a trap poisons the $label engine', ({ threads }) => {
  it('every later use refuses with EngineTrapError naming where it trapped; a new engine resumes bitwise', async () => {
    const opts = { threads, relaxedSimd: false } as const;
    const a = await init(opts);
    const m = a.sequential(spec);
    const checkpoints: Checkpoint[] = [];
    const fitOpts = { epochs: 4, batchSize: 32, seed: 3, optimizer: { type: 'adam', lr: 2e-3 } as const, schedule: { type: 'cosine', tMax: 4 } as const };
    await m.fit(d.trainImages, d.trainLabels, { ...fitOpts, epochs: 2, checkpoint: { save: (c) => void checkpoints.push(structuredClone(c)) } });
    using opt = a.optimizer('adam', m);
    using buf = a.alloc(4);

    expect(() => trap(a)).toThrow(EngineTrapError);
    expect(() => trap(a)).toThrow(/this engine trapped in debug trap \(RuntimeError: .*\); its memory can no longer be trusted/);
    expect(a.poisoned).toBe(true);
    const refusals: (() => unknown)[] = [
      () => m.getWeights(), () => a.alloc(4), () => buf.read(), () => a.sequential(spec), () => opt.saveState(), () => a.liveBytes(),
    ];
    for (const f of refusals) expect(f).toThrow(/this engine trapped in debug trap/);
    await expect(m.fit(d.trainImages, d.trainLabels, { batchSize: 32 })).rejects.toThrow(EngineTrapError);
    await expect(m.predict(d.testImages)).rejects.toThrow(EngineTrapError);

    // A fresh engine picks up from the last checkpoint and ends where training straight through ends.
    const b = await init(opts);
    using straight = b.sequential(spec);
    await straight.fit(d.trainImages, d.trainLabels, fitOpts);
    using resumed = b.modelFromJSON(checkpoints.at(-1)!.model);
    await resumed.fit(d.trainImages, d.trainLabels, { ...fitOpts, resume: checkpoints.at(-1) });
    expect(resumed.getWeights()).toEqual(straight.getWeights());
    await a.terminate();
    await b.terminate();
  });
});
