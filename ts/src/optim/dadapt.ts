// D-Adaptation (Defazio & Mishchenko 2023) for Adam, SGD and AdaGrad, as dadaptation 3.2's DAdaptAdam,
// DAdaptSGD and DAdaptAdaGrad; the formulas live beside the kernels in crates/core/src/optim/dadapt.rs.
// Each grows a distance estimate d from d0 by a ratio of sums over every parameter; the step is d·lr·(the
// base method's direction), so lr stays 1.
// Defaults (dadaptation): lr 1, weightDecay 0, d0 1e-6, growthRate null (∞); Adam: betas [0.9, 0.999],
// eps 1e-8, decouple false, useBiasCorrection false; SGD: momentum 0; AdaGrad: momentum 0, eps 1e-6.
// Slots: Adam s, exp_avg, exp_avg_sq (scalars [d, r, k]); SGD s, x0 (scalars [d, num, ‖g₀‖, k]); AdaGrad
// alpha_k (starting at 1e-6), s, x0 (scalars [d, G, S, ‖s‖₁, k]). lrScale 0 leaves a tensor out of the
// estimate (Adam, SGD: as the reference's lr-0 groups); other values scale its step.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import type { OptimizerTargetLike } from './optimizer.js';
import { checkD } from './prodigy.js';
import { TableOptimizer } from './table.js';

interface DAdaptCommon extends CommonConfig {
  /** Multiplies d; default 1. */
  lr?: number;
  /** Default 0. */
  weightDecay?: number;
  /** The initial d (> 0); default 1e-6. */
  d0?: number;
  /** d may grow at most this factor a step (≥ 1); null (default): unbounded. */
  growthRate?: number | null;
}
export interface DAdaptAdamConfig extends DAdaptCommon {
  betas?: readonly [number, number];
  eps?: number;
  /** AdamW-style decay instead of L2 in the gradient; default false. */
  decouple?: boolean;
  useBiasCorrection?: boolean;
}
export interface DAdaptSGDConfig extends DAdaptCommon {
  /** In [0, 1); default 0. */
  momentum?: number;
}
export interface DAdaptAdagradConfig extends DAdaptSGDConfig {
  /** Default 1e-6. */
  eps?: number;
}

interface ResolvedCommon {
  lr: number;
  weightDecay: number;
  d0: number;
  growthRate: number | null;
  paramGroups: ResolvedParamGroup[];
}
export type ResolvedDAdaptAdamConfig = ResolvedCommon & { betas: [number, number]; eps: number; decouple: boolean; useBiasCorrection: boolean };
export type ResolvedDAdaptSGDConfig = ResolvedCommon & { momentum: number };
export type ResolvedDAdaptAdagradConfig = ResolvedDAdaptSGDConfig & { eps: number };

const COMMON = ['lr', 'weightDecay', 'd0', 'growthRate', 'paramGroups'];

function common(w: string, c: Record<string, unknown>): ResolvedCommon {
  return { lr: checkLr(w, c.lr ?? 1), weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0), ...checkD(w, c), paramGroups: resolveParamGroups(w, c.paramGroups) };
}

export function resolveDAdaptAdam(cfg?: DAdaptAdamConfig): ResolvedDAdaptAdamConfig {
  const w = 'DAdaptAdam';
  const c = checkConfig(w, cfg, [...COMMON, 'betas', 'eps', 'decouple', 'useBiasCorrection']);
  return {
    ...common(w, c),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    eps: checkEps(w, c.eps ?? 1e-8),
    decouple: checkBool(w, 'decouple', c.decouple ?? false),
    useBiasCorrection: checkBool(w, 'useBiasCorrection', c.useBiasCorrection ?? false),
  };
}
export function resolveDAdaptSGD(cfg?: DAdaptSGDConfig): ResolvedDAdaptSGDConfig {
  const w = 'DAdaptSGD';
  const c = checkConfig(w, cfg, [...COMMON, 'momentum']);
  return { ...common(w, c), momentum: checkNumber(w, 'momentum', c.momentum ?? 0, 0, 1, { hiOpen: true }) };
}
export function resolveDAdaptAdagrad(cfg?: DAdaptAdagradConfig): ResolvedDAdaptAdagradConfig {
  const w = 'DAdaptAdagrad';
  const c = checkConfig(w, cfg, [...COMMON, 'momentum', 'eps']);
  return { ...common(w, c), momentum: checkNumber(w, 'momentum', c.momentum ?? 0, 0, 1, { hiOpen: true }), eps: checkEps(w, c.eps ?? 1e-6) };
}

abstract class DAdaptBase<C extends ResolvedCommon> extends TableOptimizer {
  readonly options: C;
  protected constructor(engine: Engine, target: OptimizerTargetLike, type: 'dadapt_adam' | 'dadapt_sgd' | 'dadapt_adagrad', name: string, o: C, scalars: number) {
    super(engine, type, name, target, o.paramGroups, { scalars: [o.d0, ...new Array<number>(scalars - 1).fill(0)] });
    this.options = o;
    this.lr = o.lr;
  }
  /** The current distance estimate d. */
  get d(): number {
    return this.scalarValues()[0];
  }
  protected get growth(): number {
    return this.options.growthRate ?? Infinity;
  }
}

export class DAdaptAdam extends DAdaptBase<ResolvedDAdaptAdamConfig> {
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: DAdaptAdamConfig) {
    super(engine, target, 'dadapt_adam', 'DAdaptAdam', resolveDAdaptAdam(cfg), 3);
    this.slot('s');
    this.slot('exp_avg');
    this.slot('exp_avg_sq', 0, this.size, { nonNegative: true });
  }
  protected call(p: number, g: number, d: number): void {
    const o = this.options;
    this.engine.exports.wcnn_dadapt_adam_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('s', 0), this.at('exp_avg', 0), this.at('exp_avg_sq', 0), this.scalarsPtr,
      this.lr, o.betas[0], o.betas[1], o.eps, o.weightDecay, o.d0, this.growth, +o.decouple, +o.useBiasCorrection, d, this.outPtr,
    );
  }
  get config(): { type: 'dadapt_adam' } & ResolvedDAdaptAdamConfig {
    return { type: 'dadapt_adam', ...structuredClone(this.options), lr: this.lr };
  }
}

export class DAdaptSGD extends DAdaptBase<ResolvedDAdaptSGDConfig> {
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: DAdaptSGDConfig) {
    super(engine, target, 'dadapt_sgd', 'DAdaptSGD', resolveDAdaptSGD(cfg), 4);
    this.slot('s');
    this.slot('x0');
  }
  protected call(p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_dadapt_sgd_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('s', 0), this.at('x0', 0), this.scalarsPtr,
      this.lr, o.momentum, o.weightDecay, o.d0, this.growth, t, d, this.outPtr,
    );
  }
  get config(): { type: 'dadapt_sgd' } & ResolvedDAdaptSGDConfig {
    return { type: 'dadapt_sgd', ...structuredClone(this.options), lr: this.lr };
  }
}

export class DAdaptAdagrad extends DAdaptBase<ResolvedDAdaptAdagradConfig> {
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: DAdaptAdagradConfig) {
    super(engine, target, 'dadapt_adagrad', 'DAdaptAdagrad', resolveDAdaptAdagrad(cfg), 5);
    this.slot('alpha_k', 1e-6, this.size, { nonNegative: true });
    this.slot('s');
    this.slot('x0');
  }
  protected call(p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_dadapt_adagrad_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('alpha_k', 0), this.at('s', 0), this.at('x0', 0), this.scalarsPtr,
      this.lr, o.momentum, o.weightDecay, o.eps, o.d0, this.growth, t, d, this.outPtr,
    );
  }
  get config(): { type: 'dadapt_adagrad' } & ResolvedDAdaptAdagradConfig {
    return { type: 'dadapt_adagrad', ...structuredClone(this.options), lr: this.lr };
  }
}
