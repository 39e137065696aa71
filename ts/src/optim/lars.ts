// LARS (You, Gitman & Ginsburg 2017) as torch-optimizer 0.3.0's LARS; the formula lives beside the kernel
// in crates/core/src/optim/lars.rs:
//
//   wd ≠ 0, ‖p‖ ≠ 0, ‖g‖ ≠ 0:  λ = η·‖p‖/(‖g‖ + wd·‖p‖ + ε) per tensor;  d = (g + wd·p)·λ;   else d = g
//   momentum: b ← d (first step) or μ·b + (1−τ)·d;  d ← nesterov ? d + μ·b : b;   p ← p − lr·d
//
// As torch-optimizer, the trust ratio needs weight decay: with weightDecay 0 (its default) LARS is
// momentum SGD. Excluded tensors (excludeFromAdaptation; by default every tensor of ≤ 1 dimension) take
// no ratio and no decay — torch-optimizer's own mechanism, a group with weight_decay 0.
// Defaults (torch-optimizer): lr 1e-2, momentum 0, dampening 0, weightDecay 0, nesterov false,
// trustCoefficient 0.01, eps 1e-8. Slot: momentum_buffer when momentum > 0. lastStep() reports λ.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkConfig, checkLr, type CommonConfig } from './options.js';
import type { OptimizerTargetLike } from './optimizer.js';
import { adaptRule, checkPatterns, TableOptimizer } from './table.js';

export interface LARSConfig extends CommonConfig {
  /** Default 1e-2. */
  lr?: number;
  /** Default 0. */
  momentum?: number;
  /** In [0, 1]; default 0. */
  dampening?: number;
  /** Default 0 (and then no trust ratio, as the reference). */
  weightDecay?: number;
  /** Needs momentum > 0 and dampening 0; default false. */
  nesterov?: boolean;
  /** η; default 0.01. */
  trustCoefficient?: number;
  /** Default 1e-8 (≥ 0). */
  eps?: number;
  /** As Lamb's: tensor name patterns excluded from the ratio and the decay; default the ≤ 1-dimension rule. */
  excludeFromAdaptation?: string[];
}

export interface ResolvedLARSConfig {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  trustCoefficient: number;
  eps: number;
  excludeFromAdaptation?: string[];
  paramGroups: ResolvedParamGroup[];
}

export function resolveLARS(cfg?: LARSConfig): ResolvedLARSConfig {
  const w = 'LARS';
  const c = checkConfig(w, cfg, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'trustCoefficient', 'eps', 'excludeFromAdaptation', 'paramGroups']);
  const o: ResolvedLARSConfig = {
    lr: checkLr(w, c.lr ?? 1e-2),
    momentum: checkNumber(w, 'momentum', c.momentum ?? 0, 0),
    dampening: checkNumber(w, 'dampening', c.dampening ?? 0, 0, 1),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    nesterov: checkBool(w, 'nesterov', c.nesterov ?? false),
    trustCoefficient: checkNumber(w, 'trustCoefficient', c.trustCoefficient ?? 0.01, 0),
    eps: checkNumber(w, 'eps', c.eps ?? 1e-8, 0),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
  if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
    throw new TypeError(`${w}: nesterov requires momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}`);
  }
  const ex = checkPatterns(w, c.excludeFromAdaptation);
  if (ex) o.excludeFromAdaptation = ex;
  return o;
}

export class LARS extends TableOptimizer {
  readonly options: ResolvedLARSConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: LARSConfig) {
    const o = resolveLARS(cfg);
    super(engine, 'lars', 'LARS', target, o.paramGroups, { perTensor: true, adapt: adaptRule('LARS', o.excludeFromAdaptation) });
    this.options = o;
    this.lr = o.lr;
    if (o.momentum > 0) this.slot('momentum_buffer');
  }
  protected override get reportsTrust(): boolean {
    return true;
  }
  protected call(p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_lars_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('momentum_buffer', 0),
      this.lr, o.momentum, o.dampening, o.weightDecay, o.trustCoefficient, o.eps, t, +o.nesterov, d, this.outPtr,
    );
  }
  get config(): { type: 'lars' } & ResolvedLARSConfig {
    return { type: 'lars', ...structuredClone(this.options), lr: this.lr };
  }
}
