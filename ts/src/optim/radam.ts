// RAdam (Liu et al. 2020) as torch.optim.RAdam (PyTorch 1.13); the formula lives beside the kernel in
// crates/core/src/optim/radam.rs:
//
//   g ← g + wd·p;  m ← β₁·m + (1−β₁)·g;  v ← β₂·v + (1−β₂)·g²
//   ρₜ = ρ∞ − 2t·β₂ᵗ/(1−β₂ᵗ), ρ∞ = 2/(1−β₂) − 1
//   ρₜ > 5: p ← p − lr·r·m̂·√(1−β₂ᵗ)/(√v + ε)  (r the variance rectification);  else p ← p − lr·m̂
//
// Defaults (PyTorch): lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0. Slots: exp_avg, exp_avg_sq.
import { checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import type { OptimizerTargetLike } from './optimizer.js';
import { TableOptimizer } from './table.js';

export interface RAdamConfig extends CommonConfig {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to √v (outside the root); default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
}

export interface ResolvedRAdamConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  paramGroups: ResolvedParamGroup[];
}

export function resolveRAdam(cfg?: RAdamConfig): ResolvedRAdamConfig {
  const w = 'RAdam';
  const c = checkConfig(w, cfg, ['lr', 'betas', 'eps', 'weightDecay', 'paramGroups']);
  return {
    lr: checkLr(w, c.lr ?? 1e-3),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    eps: checkEps(w, c.eps ?? 1e-8),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export class RAdam extends TableOptimizer {
  readonly options: ResolvedRAdamConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: RAdamConfig) {
    const o = resolveRAdam(cfg);
    super(engine, 'radam', 'RAdam', target, o.paramGroups);
    this.options = o;
    this.lr = o.lr;
    this.slot('exp_avg');
    this.slot('exp_avg_sq', 0, this.size, { nonNegative: true });
  }
  protected call(p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_radam_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('exp_avg', 0), this.at('exp_avg_sq', 0),
      this.lr, o.betas[0], o.betas[1], o.eps, o.weightDecay, t, d, this.outPtr,
    );
  }
  get config(): { type: 'radam' } & ResolvedRAdamConfig {
    return { type: 'radam', ...structuredClone(this.options), lr: this.lr };
  }
}
