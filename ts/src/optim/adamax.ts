// Adamax (Kingma & Ba 2015, §7.1: Adam with the infinity norm); the formula lives beside the kernel in
// crates/core/src/optim/adamax.rs:
//
//   g ← −g if maximize;  g ← g + wd·p;  m ← β₁·m + (1−β₁)·g;  u ← max(β₂·u, |g| + ε)
//   p ← p − (lr / (1−β₁ᵗ))·m / u
//
// PyTorch semantics and defaults. Slots: `exp_avg`, `exp_inf`.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup, type Run } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import { Optimizer, type OptimizerTargetLike } from './optimizer.js';

export interface AdamaxConfig extends CommonConfig {
  /** Learning rate, default 2e-3. */
  lr?: number;
  /** Decay rates of the first moment and the infinity norm, each in [0, 1); default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** ε, inside the max (as PyTorch); default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** Ascend the objective instead; default false. */
  maximize?: boolean;
}

export interface ResolvedAdamaxConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
  paramGroups: ResolvedParamGroup[];
}

const KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'maximize', 'paramGroups'] as const;

export function resolveAdamax(cfg?: AdamaxConfig): ResolvedAdamaxConfig {
  const w = 'Adamax';
  const c = checkConfig(w, cfg, KEYS);
  return {
    lr: checkLr(w, c.lr ?? 2e-3),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    eps: checkEps(w, c.eps ?? 1e-8),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    maximize: checkBool(w, 'maximize', c.maximize ?? false),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export class Adamax extends Optimizer {
  readonly options: ResolvedAdamaxConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: AdamaxConfig) {
    const o = resolveAdamax(cfg);
    super(engine, 'adamax', 'Adamax', target, o.paramGroups);
    this.options = o;
    this.lr = o.lr;
    this.slot('exp_avg');
    this.slot('exp_inf', 0, this.size, { nonNegative: true });
  }
  protected apply(r: Run, p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_adamax_step(
      p, g, this.at('exp_avg', r.offset), this.at('exp_inf', r.offset), r.length,
      this.lr * r.lrScale, o.betas[0], o.betas[1], o.eps, o.weightDecay * r.weightDecayScale, t, +o.maximize, d,
    );
  }
  get config(): { type: 'adamax' } & ResolvedAdamaxConfig {
    return { type: 'adamax', ...structuredClone(this.options), lr: this.lr };
  }
}
