// Switching strategy in fit: SWATS (Adam → SGD at the reference's test) and rules (a plateau or
// overfitting replaces the optimizer and/or schedule): each switch recorded with its reason and step and sent
// to onSwitch; deterministic for a seed; a checkpoint taken before or after a switch resumes bitwise. And the
// advisor inside fit: findings in the history and through onFinding.
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET, normalize } from '../examples/mnist-demo-model.js';
import type { Checkpoint, FitOptions, Finding } from '../ts/src/index.js';
import type { SwitchEvent } from '../ts/src/train/switch.js';
import { engine } from './helpers.js';

const d = loadMnist(13, 600, 300);
normalize(d.trainImages);
normalize(d.testImages);
const lenet = { inputShape: [1, 28, 28], layers: LENET, seed: 4 };

describe('fit({ switch })', () => {
  it("'swats': the switch to SGD is recorded with its carried rate; a checkpoint before or after it resumes bitwise", async () => {
    const e = await engine();
    // Large inputs make SGD's projected rate tiny, which is when the reference's allclose test passes.
    const x = Float32Array.from({ length: 8 * 16 }, (_, i) => Math.sin(i * 1.3) * 3000);
    const y = [0, 1, 2, 0, 1, 2, 0, 1];
    const spec = { inputShape: [16], layers: [{ type: 'dense' as const, units: 3 }], seed: 1, init: 'pytorch' as const };
    const cks: Checkpoint[] = [];
    const events: SwitchEvent[] = [];
    const opts: FitOptions = { epochs: 6, batchSize: 8, shuffle: false, optimizer: { type: 'adam', lr: 1e-3 }, switch: 'swats' };
    using a = e.sequential(spec);
    const h = await a.fit(x, y, { ...opts, checkpoint: { save: (c) => void cks.push(structuredClone(c)) }, callbacks: { onSwitch: (s) => void events.push(s) } });
    expect(h.switches).toHaveLength(1);
    expect(h.switches).toEqual(events);
    const sw = h.switches[0];
    expect(sw).toMatchObject({ from: 'adam', to: 'sgd' });
    expect(sw.reason).toMatch(/SWATS: the projected SGD rate of the parameters stabilised at/);
    expect(sw.lr).toBeGreaterThan(0);
    // One step per epoch, a checkpoint after each: the first is before the switch, the last well after it.
    const before = cks.find((k) => k.steps! < sw.step)!;
    const after = cks.find((k) => k.steps! > sw.step + 2)!;
    for (const ck of [before, after]) {
      using b = e.modelFromJSON(ck.model);
      await b.fit(x, y, { ...opts, resume: ck });
      expect(b.getWeights()).toEqual(a.getWeights());
    }
  });

  it('a plateau rule replaces the optimizer and schedule; deterministic; resumes bitwise from before and after the switch', async () => {
    const e = await engine();
    const run = async (extra: Partial<FitOptions> = {}, from?: Checkpoint) => {
      using m = from ? e.modelFromJSON(from.model) : e.sequential(lenet);
      const cks: Checkpoint[] = [];
      const h = await m.fit(d.trainImages, d.trainLabels, {
        epochs: 6, batchSize: 32, seed: 2, optimizer: { type: 'adam', lr: 3e-3 },
        validationData: { x: d.testImages, y: d.testLabels },
        // Any epoch without a 1-point drop of the validation loss counts: the rule fires after the 2nd such.
        switch: { on: 'plateau', monitor: 'valLoss', patience: 2, minDelta: 1, to: { optimizer: { type: 'sgd', lr: 1e-2, momentum: 0.9 }, schedule: { type: 'exponential', gamma: 0.5 } } },
        checkpoint: { save: (c) => void cks.push(structuredClone(c)) },
        ...(from ? { resume: from } : {}),
        ...extra,
      });
      return { h, w: m.getWeights(), cks };
    };
    const a = await run();
    expect(a.h.switches).toHaveLength(1);
    const sw = a.h.switches[0];
    // Epoch 0 sets the best; epochs 1 and 2 do not improve it by 1: the rule fires at the end of epoch 2.
    expect(sw).toMatchObject({ epoch: 2, from: 'Adam', to: 'SGD', lr: 1e-2 });
    expect(sw.reason).toMatch(/valLoss did not improve on .* for 2 epochs \(patience 2\)/);
    expect(a.h.epochs[3].lr).toBe(1e-2);
    expect(a.h.epochs[4].lr).toBe(5e-3);
    const again = await run();
    expect(again.w).toEqual(a.w);
    expect(again.h.switches).toEqual(a.h.switches);
    for (const ck of [a.cks[0], a.cks[3]]) {
      const r = await run({}, ck);
      expect(r.w).toEqual(a.w);
    }
  });

  it('an overfit rule fires when the validation loss rises while the training loss falls', async () => {
    const e = await engine();
    using m = e.sequential(lenet);
    // 64 samples: the training loss keeps falling, the validation loss turns up.
    const h = await m.fit(d.trainImages.subarray(0, 64 * 784), d.trainLabels.slice(0, 64), {
      epochs: 30, batchSize: 16, optimizer: { type: 'adam', lr: 3e-3 }, validationData: { x: d.testImages, y: d.testLabels },
      switch: { on: 'overfit', patience: 2, to: { optimizer: { type: 'sgd', lr: 1e-3 } } },
    });
    expect(h.switches).toHaveLength(1);
    const at = h.switches[0].epoch;
    const ep = h.epochs;
    expect(ep[at].valLoss!).toBeGreaterThan(ep[at - 1].valLoss!);
    expect(ep[at - 1].valLoss!).toBeGreaterThan(ep[at - 2].valLoss!);
    expect(ep[at].loss).toBeLessThan(ep[at - 1].loss);
    expect(h.switches[0].reason).toMatch(/overfitting: the validation loss rose while the training loss fell for 2 epochs/);
  });

  it('bad policies are refused by name', async () => {
    const e = await engine();
    using m = e.sequential(lenet);
    await expect(m.fit(d.trainImages, d.trainLabels, { switch: { on: 'overfit', to: { optimizer: 'sgd' } } })).rejects.toThrow(/fit: switch: an 'overfit' rule watches the validation loss, which needs validationData/);
    await expect(m.fit(d.trainImages, d.trainLabels, { switch: { on: 'plateau', to: {} } as never })).rejects.toThrow(/fit: switch: to must give an optimizer and\/or a schedule/);
    await expect(m.fit(d.trainImages, d.trainLabels, { optimizer: 'rmsprop', switch: 'swats' })).rejects.toThrow(/fit: switch 'swats' starts from Adam; the optimizer is "rmsprop"/);
  });
});

describe('fit({ advisor })', () => {
  it('findings land in history.findings and onFinding; healthy training stays silent', async () => {
    const e = await engine();
    const seen: Finding[] = [];
    using slow = e.sequential(lenet);
    const h = await slow.fit(d.trainImages, d.trainLabels, { epochs: 2, batchSize: 16, optimizer: { type: 'adam', lr: 1e-7 }, advisor: true, callbacks: { onFinding: (f) => void seen.push(f) } });
    expect(h.findings.map((f) => f.kind)).toContain('updateRatio');
    expect(h.findings).toEqual(seen);
    const f = h.findings.find((x) => x.kind === 'updateRatio')!;
    expect(f.suggestion.length).toBeGreaterThan(10);
    using ok = e.sequential(lenet);
    const g = await ok.fit(d.trainImages, d.trainLabels, { epochs: 2, batchSize: 16, optimizer: { type: 'adam', lr: 1e-3 }, advisor: true });
    expect(g.findings).toEqual([]);
  });
});
