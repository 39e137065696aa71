// Prodigy (Mishchenko & Defazio 2024) as prodigyopt 1.1.2's Prodigy; the formula lives beside the kernel in
// crates/core/src/optim/prodigy.rs. Adam whose step is d·lr, d an estimate of the distance to the solution
// grown from d0 by a ratio of sums over every parameter (so the rate needs no tuning: lr stays 1):
//
//   dlr = d·lr·c (c = √(1−β₂ᵏ⁺¹)/(1−β₁ᵏ⁺¹) with useBiasCorrection);  num ← β₃·num + (d/d0)·dlr·⟨g, p₀ − p⟩
//   m ← β₁·m + d(1−β₁)·g;  v ← β₂·v + d²(1−β₂)·g²;  s ← β₃·s + (d/d0)·(safeguardWarmup ? d : dlr)·g
//   d̂ = dCoef·num/‖s‖₁;  d ← min(max(d_max, d̂), d·growthRate)  (first growth: max(d, d̂))
//   p ← p − wd·dlr·p (decouple);  p ← p − dlr·m/(√v + d·ε)
//
// Defaults (prodigyopt): lr 1, betas [0.9, 0.999], beta3 null (√β₂), eps 1e-8, weightDecay 0, decouple true,
// useBiasCorrection false, safeguardWarmup false, d0 1e-6, dCoef 1, growthRate null (∞).
// paramGroups' lrScale: 0 leaves a tensor out of the estimate (as the reference's lr-0 groups), other
// values scale its step. Slots: p0, s, exp_avg (betas[0] > 0), exp_avg_sq; scalars [d, d_max, num, k].
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import type { OptimizerTargetLike } from './optimizer.js';
import { TableOptimizer } from './table.js';

export interface ProdigyConfig extends CommonConfig {
  /** Multiplies d; default 1. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Decay of the estimate's sums; null (default): √β₂. */
  beta3?: number | null;
  /** Default 1e-8 (scaled by d in the denominator). */
  eps?: number;
  /** Default 0. */
  weightDecay?: number;
  /** AdamW-style decay (true, default) or L2 added to the gradient. */
  decouple?: boolean;
  /** Default false. */
  useBiasCorrection?: boolean;
  /** Default false. */
  safeguardWarmup?: boolean;
  /** The initial d (> 0); default 1e-6. */
  d0?: number;
  /** Multiplies d̂; default 1. */
  dCoef?: number;
  /** d may grow at most this factor a step (≥ 1); null (default): unbounded. */
  growthRate?: number | null;
}

export interface ResolvedProdigyConfig {
  lr: number;
  betas: [number, number];
  beta3: number | null;
  eps: number;
  weightDecay: number;
  decouple: boolean;
  useBiasCorrection: boolean;
  safeguardWarmup: boolean;
  d0: number;
  dCoef: number;
  growthRate: number | null;
  paramGroups: ResolvedParamGroup[];
}

/** d0 and growthRate, shared with the D-Adaptation methods. */
export function checkD(w: string, c: Record<string, unknown>): { d0: number; growthRate: number | null } {
  return {
    d0: checkNumber(w, 'd0', c.d0 ?? 1e-6, 0, Infinity, { loOpen: true }),
    growthRate: c.growthRate === undefined || c.growthRate === null ? null : checkNumber(w, 'growthRate', c.growthRate, 1),
  };
}

export function resolveProdigy(cfg?: ProdigyConfig): ResolvedProdigyConfig {
  const w = 'Prodigy';
  const c = checkConfig(w, cfg, [
    'lr', 'betas', 'beta3', 'eps', 'weightDecay', 'decouple', 'useBiasCorrection', 'safeguardWarmup', 'd0', 'dCoef', 'growthRate', 'paramGroups',
  ]);
  return {
    lr: checkLr(w, c.lr ?? 1),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    beta3: c.beta3 === undefined || c.beta3 === null ? null : checkNumber(w, 'beta3', c.beta3, 0, 1, { hiOpen: true }),
    eps: checkEps(w, c.eps ?? 1e-8),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    decouple: checkBool(w, 'decouple', c.decouple ?? true),
    useBiasCorrection: checkBool(w, 'useBiasCorrection', c.useBiasCorrection ?? false),
    safeguardWarmup: checkBool(w, 'safeguardWarmup', c.safeguardWarmup ?? false),
    ...checkD(w, c),
    dCoef: checkNumber(w, 'dCoef', c.dCoef ?? 1, 0, Infinity, { loOpen: true }),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export class Prodigy extends TableOptimizer {
  readonly options: ResolvedProdigyConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: ProdigyConfig) {
    const o = resolveProdigy(cfg);
    super(engine, 'prodigy', 'Prodigy', target, o.paramGroups, { scalars: [o.d0, o.d0, 0, 0] });
    this.options = o;
    this.lr = o.lr;
    this.slot('p0');
    this.slot('s');
    if (o.betas[0] > 0) this.slot('exp_avg');
    this.slot('exp_avg_sq', 0, this.size, { nonNegative: true });
  }
  /** The current distance estimate d. */
  get d(): number {
    return this.scalarValues()[0];
  }
  protected call(p: number, g: number, dl: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_prodigy_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('p0', 0), this.at('s', 0), this.at('exp_avg', 0), this.at('exp_avg_sq', 0),
      this.scalarsPtr, this.lr, o.betas[0], o.betas[1], o.beta3 ?? -1, o.eps, o.weightDecay, o.d0, o.dCoef, o.growthRate ?? Infinity,
      t, +o.decouple, +o.useBiasCorrection, +o.safeguardWarmup, dl, this.outPtr,
    );
  }
  get config(): { type: 'prodigy' } & ResolvedProdigyConfig {
    return { type: 'prodigy', ...structuredClone(this.options), lr: this.lr };
  }
}
