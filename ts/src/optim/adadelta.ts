// Adadelta (Zeiler 2012); the formula lives beside the kernel in crates/core/src/optim/adadelta.rs:
//
//   g ← −g if maximize;  g ← g + wd·p;  v ← ρ·v + (1−ρ)·g²
//   d ← √(a + ε) / √(v + ε) · g;  a ← ρ·a + (1−ρ)·d²;  p ← p − lr·d
//
// PyTorch semantics and defaults (tfjs-core's AdadeltaOptimizer: the same formula with lr 1e-3, ρ 0.95,
// ε 1e-7). Slots: `square_avg`, `acc_delta`.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup, type Run } from './layout.js';
import { checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import { Optimizer, type OptimizerTargetLike } from './optimizer.js';

export interface AdadeltaConfig extends CommonConfig {
  /** Scale of the update, default 1.0. */
  lr?: number;
  /** Decay of both running averages, in [0, 1]; default 0.9. */
  rho?: number;
  /** ε, inside both roots; default 1e-6. */
  eps?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** Ascend the objective instead; default false. */
  maximize?: boolean;
}

export interface ResolvedAdadeltaConfig {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
  paramGroups: ResolvedParamGroup[];
}

const KEYS = ['lr', 'rho', 'eps', 'weightDecay', 'maximize', 'paramGroups'] as const;

export function resolveAdadelta(cfg?: AdadeltaConfig): ResolvedAdadeltaConfig {
  const w = 'Adadelta';
  const c = checkConfig(w, cfg, KEYS);
  return {
    lr: checkLr(w, c.lr ?? 1.0),
    rho: checkNumber(w, 'rho', c.rho ?? 0.9, 0, 1),
    eps: checkEps(w, c.eps ?? 1e-6),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    maximize: checkBool(w, 'maximize', c.maximize ?? false),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export class Adadelta extends Optimizer {
  readonly options: ResolvedAdadeltaConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: AdadeltaConfig) {
    const o = resolveAdadelta(cfg);
    super(engine, 'adadelta', 'Adadelta', target, o.paramGroups);
    this.options = o;
    this.lr = o.lr;
    this.slot('square_avg', 0, this.size, { nonNegative: true });
    this.slot('acc_delta', 0, this.size, { nonNegative: true });
  }
  protected apply(r: Run, p: number, g: number, d: number): void {
    const o = this.options;
    this.engine.exports.wcnn_adadelta_step(
      p, g, this.at('square_avg', r.offset), this.at('acc_delta', r.offset), r.length,
      this.lr * r.lrScale, o.rho, o.eps, o.weightDecay * r.weightDecayScale, +o.maximize, d,
    );
  }
  get config(): { type: 'adadelta' } & ResolvedAdadeltaConfig {
    return { type: 'adadelta', ...structuredClone(this.options), lr: this.lr };
  }
}
