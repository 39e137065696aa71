// The optimizers of issue 14 against their reference implementations (test/golden/optim_adaptive/*.json,
// written by test/golden/gen_optim_adaptive.py; replayed natively by crates/core/tests/
// golden_optim_adaptive.rs), through engine.optimizer() on the single-threaded and the threaded build.
// Gradients and initial parameters are generated (helpers.noise), so the file holds only checkpoints.
// Tolerance as test/optim-golden.test.ts: |ours − ref| ≤ 1e-5 · max(|ref|, |p₀|, 1e-2) per element; the
// reference's d (Prodigy, D-Adaptation) within 1e-5 relative; LAMB's trust ratios within 1e-5 relative;
// SWATS switching at the reference's step in each group, carrying its rate within 1e-5 relative.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OptimizerConfig } from '../ts/src/index.js';
import { createOptimizer } from '../ts/src/optim/index.js';
import type { ScheduleFreeAdamW } from '../ts/src/optim/schedulefree.js';
import type { SWATS } from '../ts/src/optim/swats.js';
import { engine, expectClose, golden, noise, RELAXED } from './helpers.js';

interface Case {
  name: string;
  optimizer: string;
  reference: string;
  options: Record<string, unknown>;
  tensors: { name: string; shape: number[]; exclude?: boolean; group?: number }[];
  n: number;
  steps: number;
  seed: number;
  /** Gradients times this power of two (1 when absent). */
  gradScale?: number;
  checkpoints: number[];
  sample: number[] | null;
  params: number[][];
  evalParams?: number[][];
  d?: number[];
  trust?: number[][];
  /** SWATS: per group, the step it switched at and the rate it carried (null: never). */
  switches?: ({ step: number; rate: number } | null)[];
  /** A looser tolerance where the trajectory is not float32-stable, with its reason. */
  rtol?: number;
  rtolReason?: string;
}

const files = readdirSync(new URL('./golden/optim_adaptive/', import.meta.url)).filter((f) => f.endsWith('.json')).sort();
const cases = files.flatMap((f) => golden<{ cases: Case[] }>(`optim_adaptive/${f}`).cases);

function grad(n: number, seed: number, t: number, scale = 1): Float32Array {
  const h = noise(n, seed);
  const e = noise(n, seed + t);
  return h.map((v, i) => Math.fround(v * 0.5 + e[i]) * scale);
}

const BUILDS = [
  { label: 'simd', opts: { threads: 1, relaxedSimd: false } },
  { label: 'threads', opts: { threads: 2, relaxedSimd: RELAXED } },
];

/** SWATS after step t: each group in the reference's phase; a switch at t reported by lastStep with its rate. */
function checkSwitches(opt: SWATS, c: Case, t: number): number {
  const phases = opt.phases;
  const order = (k: number) => (k === 0 ? phases.length - 1 : k - 1); // reference group k → our phases index
  const switched = opt.lastStep().switched ?? [];
  let worst = 0;
  c.switches!.forEach((want, k) => {
    const ours = phases[order(k)];
    expect(ours.phase, `${c.name} group ${k} after step ${t}`).toBe(want && t >= want.step ? 'sgd' : 'adam');
    if (want?.step !== t) return;
    const err = Math.abs(ours.carriedRate! - want.rate) / want.rate;
    expect(err, `${c.name} group ${k} carried rate`).toBeLessThanOrEqual(1e-5);
    expect(ours.switchStep).toBe(t);
    expect(switched.find((s) => s.group === ours.group), `${c.name} lastStep().switched at ${t}`).toMatchObject({ step: t, from: 'adam', to: 'sgd', rate: ours.carriedRate });
    worst = Math.max(worst, err);
  });
  expect(switched.length).toBe(c.switches!.filter((w) => w?.step === t).length);
  return worst;
}

describe('issue 14 optimizers match their reference trajectories', () => {
  it('covers every new optimizer with ≥ 50 steps and a long (multi-chunk) buffer', () => {
    const kinds = ['radam', 'nadam', 'adabelief', 'lion', 'lamb', 'lars', 'swats', 'prodigy', 'dadapt_adam', 'dadapt_sgd', 'dadapt_adagrad', 'schedulefree_adamw', 'schedulefree_sgd'];
    for (const k of kinds) {
      const cs = cases.filter((c) => c.optimizer === k);
      expect(cs.length, k).toBeGreaterThanOrEqual(3);
      expect(cs.every((c) => c.steps >= 50), k).toBe(true);
      expect(cs.some((c) => c.n > 4096), k).toBe(true);
    }
  });

  for (const b of BUILDS) {
    for (const c of cases) {
      it(`${b.label}: ${c.name} (${c.reference}, ${c.steps} steps, n=${c.n})`, async () => {
        const e = await engine(b.opts);
        let at = 0;
        const tensors = c.tensors.map((t) => {
          const length = t.shape.reduce((a, d) => a * d, 1);
          const r = { name: t.name, offset: at, length, shape: t.shape };
          at += length;
          return r;
        });
        const excluded = c.tensors.filter((t) => t.exclude).map((t) => t.name);
        const o: Record<string, unknown> = { type: c.optimizer };
        for (const [k, v] of Object.entries(c.options)) if (v !== null) o[k] = v;
        if (c.optimizer === 'lamb' || c.optimizer === 'lars') o.excludeFromAdaptation = excluded;
        // SWATS: the reference's param_group k > 0 is our paramGroups[k − 1]; group 0 the tensors no group matches.
        const ngroups = Math.max(0, ...c.tensors.map((t) => t.group ?? 0)) + 1;
        if (c.optimizer === 'swats' && ngroups > 1) {
          o.paramGroups = Array.from({ length: ngroups - 1 }, (_, k) => ({ params: c.tensors.filter((t) => t.group === k + 1).map((t) => t.name) }));
        }
        using opt = createOptimizer(e, o as unknown as OptimizerConfig, { size: c.n, tensors });
        const p0 = noise(c.n, c.seed + 1000);
        using p = e.tensor(p0, 'params');
        using g = e.alloc(c.n, 'grads');
        const pick = (v: Float32Array) => (c.sample ? Float32Array.from(c.sample, (i) => v[i]) : v);
        const floor = Array.from(pick(p0), (v) => Math.max(Math.abs(v), 1e-2));
        const RTOL = c.rtol ?? 1e-5;
        let [worst, k] = [0, 0];
        for (let t = 1; t <= c.steps; t++) {
          g.write(grad(c.n, c.seed, t, c.gradScale));
          opt.step(p, g);
          if (c.switches) worst = Math.max(worst, checkSwitches(opt as SWATS, c, t));
          if (c.checkpoints[k] !== t) continue;
          worst = Math.max(worst, expectClose(pick(p.read()), c.params[k], RTOL, floor, `${c.name} step ${t}`));
          if (c.evalParams) {
            const sf = opt as ScheduleFreeAdamW;
            sf.eval(p);
            expect(sf.mode).toBe('eval');
            worst = Math.max(worst, expectClose(pick(p.read()), c.evalParams[k], RTOL, floor, `${c.name} eval weights step ${t}`));
            sf.train(p);
          }
          if (c.d) {
            const d = (opt as unknown as { d: number }).d;
            expect(Math.abs(d - c.d[k]) / c.d[k], `${c.name} d at step ${t}`).toBeLessThanOrEqual(1e-5);
          }
          if (c.trust) expectClose(opt.lastStep().trustRatios!, c.trust[k], 1e-5, 0, `${c.name} trust ratios step ${t}`);
          k++;
        }
        expect(k).toBe(c.checkpoints.length);
        console.log(`${b.label} ${c.name} (${c.reference}): max relative error ${worst.toExponential(2)} over ${c.steps} steps`);
      });
    }
  }
});
