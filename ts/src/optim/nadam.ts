// NAdam (Dozat 2016) as torch.optim.NAdam (PyTorch 1.13), with its momentum schedule; the formula lives
// beside the kernel in crates/core/src/optim/nadam.rs:
//
//   g ← g + wd·p;  μₜ = β₁(1 − ½·0.96^(t·momentumDecay));  Πₜ = Πₜ₋₁·μₜ
//   m ← β₁·m + (1−β₁)·g;  v ← β₂·v + (1−β₂)·g²;  denom = √(v/(1−β₂ᵗ)) + ε
//   p ← p − lr(1−μₜ)/(1−Πₜ)·g/denom − lr·μₜ₊₁/(1−Πₜμₜ₊₁)·m/denom
//
// Defaults (PyTorch): lr 2e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, momentumDecay 4e-3.
// Slots: exp_avg, exp_avg_sq; scalar state Π (mu_product).
import { checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import type { OptimizerTargetLike } from './optimizer.js';
import { TableOptimizer } from './table.js';

export interface NAdamConfig extends CommonConfig {
  /** Default 2e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8 (outside the root). */
  eps?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** ψ of the momentum schedule μₜ = β₁(1 − ½·0.96^(tψ)); default 4e-3. */
  momentumDecay?: number;
}

export interface ResolvedNAdamConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  momentumDecay: number;
  paramGroups: ResolvedParamGroup[];
}

export function resolveNAdam(cfg?: NAdamConfig): ResolvedNAdamConfig {
  const w = 'NAdam';
  const c = checkConfig(w, cfg, ['lr', 'betas', 'eps', 'weightDecay', 'momentumDecay', 'paramGroups']);
  return {
    lr: checkLr(w, c.lr ?? 2e-3),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    eps: checkEps(w, c.eps ?? 1e-8),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    momentumDecay: checkNumber(w, 'momentumDecay', c.momentumDecay ?? 4e-3, 0),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export class NAdam extends TableOptimizer {
  readonly options: ResolvedNAdamConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: NAdamConfig) {
    const o = resolveNAdam(cfg);
    super(engine, 'nadam', 'NAdam', target, o.paramGroups, { scalars: [1] });
    this.options = o;
    this.lr = o.lr;
    this.slot('exp_avg');
    this.slot('exp_avg_sq', 0, this.size, { nonNegative: true });
  }
  protected call(p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_nadam_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('exp_avg', 0), this.at('exp_avg_sq', 0), this.scalarsPtr,
      this.lr, o.betas[0], o.betas[1], o.eps, o.weightDecay, o.momentumDecay, t, d, this.outPtr,
    );
  }
  get config(): { type: 'nadam' } & ResolvedNAdamConfig {
    return { type: 'nadam', ...structuredClone(this.options), lr: this.lr };
  }
}
