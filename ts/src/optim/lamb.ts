// LAMB (You et al. 2020) as torch-optimizer 0.3.0's Lamb; the formula lives beside the kernel in
// crates/core/src/optim/lamb.rs:
//
//   m ← β₁·m + (1−β₁)·g;  v ← β₂·v + (1−β₂)·g²;  u = m/(√v + ε) + wd·p
//   trust = min(‖p‖, clampValue)/‖u‖ per tensor (1 if either is 0, with adam, or for an excluded tensor)
//   p ← p − lr·c·trust·u,  c = √(1−β₂ᵗ)/(1−β₁ᵗ) with debias, else 1
//
// Excluded tensors (excludeFromAdaptation; by default every tensor of ≤ 1 dimension: biases and
// normalisation parameters, as the paper) take trust 1 and no weight decay.
// Defaults (torch-optimizer): lr 1e-3, betas [0.9, 0.999], eps 1e-6, weightDecay 0, clampValue 10,
// adam false, debias false. Slots: exp_avg, exp_avg_sq. lastStep() reports the trust ratios.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import type { OptimizerTargetLike } from './optimizer.js';
import { adaptRule, checkPatterns, TableOptimizer } from './table.js';

export interface LambConfig extends CommonConfig {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-6. */
  eps?: number;
  /** Added to the Adam direction (wd·p), so it takes part in the trust ratio; default 0. */
  weightDecay?: number;
  /** ‖p‖ is clamped to this in the ratio; default 10. */
  clampValue?: number;
  /** Trust ratio 1 everywhere; default false. */
  adam?: boolean;
  /** Adam's bias correction on the rate (the paper's v3 has none); default false. */
  debias?: boolean;
  /**
   * Tensor name patterns (globs, as paramGroups) excluded from the trust ratio and the weight decay;
   * default: every tensor of at most one dimension (biases, normalisation parameters). [] excludes none.
   */
  excludeFromAdaptation?: string[];
}

export interface ResolvedLambConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  clampValue: number;
  adam: boolean;
  debias: boolean;
  /** Absent: the ≤ 1-dimension rule. */
  excludeFromAdaptation?: string[];
  paramGroups: ResolvedParamGroup[];
}

export function resolveLamb(cfg?: LambConfig): ResolvedLambConfig {
  const w = 'Lamb';
  const c = checkConfig(w, cfg, ['lr', 'betas', 'eps', 'weightDecay', 'clampValue', 'adam', 'debias', 'excludeFromAdaptation', 'paramGroups']);
  const o: ResolvedLambConfig = {
    lr: checkLr(w, c.lr ?? 1e-3),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    eps: checkEps(w, c.eps ?? 1e-6),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    clampValue: checkNumber(w, 'clampValue', c.clampValue ?? 10, 0),
    adam: checkBool(w, 'adam', c.adam ?? false),
    debias: checkBool(w, 'debias', c.debias ?? false),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
  const ex = checkPatterns(w, c.excludeFromAdaptation);
  if (ex) o.excludeFromAdaptation = ex;
  return o;
}

export class Lamb extends TableOptimizer {
  readonly options: ResolvedLambConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: LambConfig) {
    const o = resolveLamb(cfg);
    super(engine, 'lamb', 'Lamb', target, o.paramGroups, { perTensor: true, adapt: adaptRule('Lamb', o.excludeFromAdaptation) });
    this.options = o;
    this.lr = o.lr;
    this.slot('exp_avg');
    this.slot('exp_avg_sq', 0, this.size, { nonNegative: true });
  }
  protected override get reportsTrust(): boolean {
    return true;
  }
  protected call(p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_lamb_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('exp_avg', 0), this.at('exp_avg_sq', 0),
      this.lr, o.betas[0], o.betas[1], o.eps, o.weightDecay, o.clampValue, t, +o.adam, +o.debias, d, this.outPtr,
    );
  }
  get config(): { type: 'lamb' } & ResolvedLambConfig {
    return { type: 'lamb', ...structuredClone(this.options), lr: this.lr };
  }
}
