// SWATS around its switch: the phase, switch step and rates it exposes, lastStep() reporting the switch,
// a schedule scaling the carried rate, and saveState/loadState before and after the switch resuming
// bitwise. The problem is the golden case swats_layers (test/golden/optim_adaptive/swats.json: four tensors,
// gradients ×1024, seed 55), whose reference switches at step 18; its parity is checked in
// test/optim-adaptive-golden.test.ts.
import { describe, expect, it } from 'vitest';
import type { Engine, OptimizerState } from '../ts/src/index.js';
import { createOptimizer } from '../ts/src/optim/index.js';
import type { SWATS } from '../ts/src/optim/swats.js';
import { engine, noise } from './helpers.js';

const SHAPES = [[5, 7], [5], [3, 5], [3]];
const N = 58;
const SEED = 55;
const SWITCH = 18;
const tensors = (() => {
  let at = 0;
  return SHAPES.map((shape, i) => {
    const length = shape.reduce((a, d) => a * d, 1);
    const t = { name: `t${i}`, offset: at, length, shape };
    at += length;
    return t;
  });
})();

function grad(t: number): Float32Array {
  const h = noise(N, SEED);
  const e = noise(N, SEED + t);
  return h.map((v, i) => Math.fround(v * 0.5 + e[i]) * 1024);
}

function make(e: Engine, extra: object = {}): SWATS {
  return createOptimizer(e, { type: 'swats', ...extra }, { size: N, tensors }) as SWATS;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Steps `opt` from step `from + 1` to `to` over the buffer holding `p`; returns the parameters. */
function run(e: Engine, opt: SWATS, p0: Float32Array, from: number, to: number): Float32Array {
  using p = e.tensor(p0);
  using g = e.alloc(N);
  for (let t = from + 1; t <= to; t++) {
    g.write(grad(t));
    opt.step(p, g);
  }
  return p.read();
}

describe('SWATS', () => {
  it('switches at the reference step, reports it once in lastStep(), then steps at the carried rate', async () => {
    const e = await engine();
    using opt = make(e);
    using p = e.tensor(noise(N, SEED + 1000));
    using g = e.alloc(N);
    expect([opt.phase, opt.switchStep, opt.sgdRate]).toEqual(['adam', null, null]);
    for (let t = 1; t <= 30; t++) {
      g.write(grad(t));
      opt.step(p, g);
      const last = opt.lastStep();
      if (t < SWITCH) {
        expect(opt.phase).toBe('adam');
        expect(last.lr).toBe(1e-3);
        expect(last.switched).toBeUndefined();
      } else {
        expect(opt.phase).toBe('sgd');
        expect(opt.switchStep).toBe(SWITCH);
        const rate = opt.sgdRate!;
        expect(rate).toBe(opt.phases[0].carriedRate); // lr unchanged: the SGD rate is Λ itself
        expect(rate).toBeGreaterThan(1e-7);
        expect(rate).toBeLessThan(1e-5);
        if (t === SWITCH) {
          expect(last.switched).toEqual([{ group: null, step: SWITCH, from: 'adam', to: 'sgd', rate }]);
          // t0 and t1 took Adam in the switch step (t1 switched the group), t2 and t3 already SGD.
          expect(Array.from(last.tensorLr)).toEqual([1e-3, 1e-3, rate, rate]);
          expect(last.lr).toBe(1e-3);
        } else {
          expect(last.switched).toBeUndefined();
          expect(Array.from(last.tensorLr)).toEqual([rate, rate, rate, rate]);
          expect(last.lr).toBe(rate);
        }
      }
    }
  });

  it('a changed lr after the switch scales the SGD rate (a schedule keeps working)', async () => {
    const e = await engine();
    using opt = make(e);
    run(e, opt, noise(N, SEED + 1000), 0, 25);
    const carried = opt.phases[0].carriedRate!;
    opt.lr = 5e-4;
    expect(opt.sgdRate).toBe(carried * 0.5);
    run(e, opt, noise(N, SEED + 1000), 25, 26);
    expect(opt.lastStep().lr).toBe(carried * 0.5);
    expect(opt.phases[0].carriedRate).toBe(carried);
  });

  it('a state saved before or after the switch resumes bitwise, phase and carried rate included', async () => {
    const e = await engine();
    const p0 = noise(N, SEED + 1000);
    let straight: Float32Array;
    {
      using opt = make(e, { nesterov: true, weightDecay: 0.5 });
      straight = run(e, opt, p0, 0, 60);
      expect(opt.switchStep).not.toBeNull();
    }
    for (const at of [10, 25]) {
      let saved: OptimizerState;
      let mid: Float32Array;
      {
        using opt = make(e, { nesterov: true, weightDecay: 0.5 });
        mid = run(e, opt, p0, 0, at);
        saved = structuredClone(opt.saveState());
        expect(opt.phase).toBe(at < SWITCH ? 'adam' : 'sgd');
      }
      using opt = make(e, { nesterov: true, weightDecay: 0.5 });
      opt.loadState(saved);
      expect(opt.phase).toBe(at < SWITCH ? 'adam' : 'sgd');
      expect(opt.lastStep().switched).toBeUndefined();
      const resumed = run(e, opt, mid, at, 60);
      expect(bits(resumed), `saved at step ${at}`).toEqual(bits(straight));
    }
  });

  it('loadState refuses scalar state that is not a phase, rate and step, and changes nothing', async () => {
    const e = await engine();
    using opt = make(e);
    run(e, opt, noise(N, SEED + 1000), 0, 20);
    const good = opt.saveState();
    const groupAt = 4 * 2; // four runs of [λ, flag], then the group's [phase, Λ, step, lr then]
    const bad = (edit: (s: number[]) => void) => {
      const s = structuredClone(good);
      edit(s.scalars!);
      return s;
    };
    const cases: [OptimizerState, RegExp][] = [
      [bad((s) => (s[groupAt] = 2)), /^SWATS\.loadState: scalars\[8\.\.11\] \(a group's phase, carried rate, switch step, lr then\) must be all 0 \(Adam\) or 1, > 0, a step in \[2, 20\], > 0 \(SGD\), got \[2, /],
      [bad((s) => (s[groupAt + 1] = 0)), /must be all 0 \(Adam\) or 1, > 0, a step in \[2, 20\], > 0 \(SGD\), got \[1, 0, 18, 0\.001\]$/],
      [bad((s) => (s[groupAt + 2] = 21)), /a step in \[2, 20\].*got \[1, .*, 21, 0\.001\]$/],
      [bad((s) => (s[1] = 0.5)), /^SWATS\.loadState: scalars\[1\] \(a momentum-buffer flag\) must be 0 or 1, got 0\.5$/],
      [bad((s) => s.pop()), /^SWATS\.loadState: scalars must be 12 finite numbers, got /],
    ];
    const before = JSON.stringify(opt.saveState(), (_, v) => (v instanceof Float32Array ? bits(v) : v));
    for (const [s, msg] of cases) expect(() => opt.loadState(s)).toThrow(msg);
    expect(JSON.stringify(opt.saveState(), (_, v) => (v instanceof Float32Array ? bits(v) : v))).toBe(before);
  });

  it('each parameter group switches on its own: bitwise what an optimizer over its tensors alone does', async () => {
    const e = await engine();
    const p0 = noise(N, SEED + 1000);
    using grouped = make(e, { lr: 2e-3, paramGroups: [{ params: ['t1', 't3'] }] });
    const both = run(e, grouped, p0, 0, 60);
    for (const names of [['t0', 't2'], ['t1', 't3']]) {
      // A layout of only these tensors: the others are gaps it never touches.
      using alone = createOptimizer(e, { type: 'swats', lr: 2e-3 }, { size: N, tensors: tensors.filter((t) => names.includes(t.name)) }) as SWATS;
      const mine = run(e, alone, p0, 0, 60);
      for (const t of tensors.filter((t) => names.includes(t.name))) {
        expect(bits(mine.slice(t.offset, t.offset + t.length)), t.name).toEqual(bits(both.slice(t.offset, t.offset + t.length)));
      }
      const g = grouped.phases[names[0] === 't1' ? 0 : 1];
      expect({ ...g, group: null }).toEqual(alone.phases[0]);
    }
    // torch-optimizer's SWATS on this problem with these two param_groups: [t1, t3] switches at step 18, [t0, t2] never.
    expect(grouped.phases.map((g) => g.switchStep)).toEqual([18, null]);
    expect(grouped.phase).toBe('mixed');
  });
});
