// AdaBelief (Zhuang et al. 2020) as torch-optimizer 0.3.0's AdaBelief; the formula lives beside the kernel
// in crates/core/src/optim/adabelief.rs:
//
//   weightDecouple: p ← p·(1 − lr·wd) (fixedDecay: p·(1 − wd))      else g ← g + wd·p
//   m ← β₁·m + (1−β₁)·g;  s ← β₂·s + (1−β₂)·(g − m)² + ε  (ε added to the state, as the reference)
//   amsgrad: ŝ ← max(ŝ, s) + ε;  p ← p − lr/(1−β₁ᵗ)·m/(√s/√(1−β₂ᵗ) + ε)   (rectify: RAdam's rule, ρₜ > 4)
//
// Defaults (torch-optimizer): lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, every flag false.
// Slots: exp_avg, exp_avg_var, and max_exp_avg_var when amsgrad.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import type { OptimizerTargetLike } from './optimizer.js';
import { TableOptimizer } from './table.js';

export interface AdaBeliefConfig extends CommonConfig {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Default 0: coupled L2, or decoupled with weightDecouple. */
  weightDecay?: number;
  /** Running maximum of the second moment; default false. */
  amsgrad?: boolean;
  /** Decoupled decay p·(1 − lr·wd); default false. */
  weightDecouple?: boolean;
  /** With weightDecouple: p·(1 − wd), independent of lr; default false. */
  fixedDecay?: boolean;
  /** RAdam's variance rectification; default false. */
  rectify?: boolean;
}

export interface ResolvedAdaBeliefConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  weightDecouple: boolean;
  fixedDecay: boolean;
  rectify: boolean;
  paramGroups: ResolvedParamGroup[];
}

export function resolveAdaBelief(cfg?: AdaBeliefConfig): ResolvedAdaBeliefConfig {
  const w = 'AdaBelief';
  const c = checkConfig(w, cfg, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'weightDecouple', 'fixedDecay', 'rectify', 'paramGroups']);
  const o = {
    lr: checkLr(w, c.lr ?? 1e-3),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    eps: checkEps(w, c.eps ?? 1e-8),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    amsgrad: checkBool(w, 'amsgrad', c.amsgrad ?? false),
    weightDecouple: checkBool(w, 'weightDecouple', c.weightDecouple ?? false),
    fixedDecay: checkBool(w, 'fixedDecay', c.fixedDecay ?? false),
    rectify: checkBool(w, 'rectify', c.rectify ?? false),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
  if (o.fixedDecay && !o.weightDecouple) throw new TypeError(`${w}: fixedDecay true requires weightDecouple true`);
  return o;
}

export class AdaBelief extends TableOptimizer {
  readonly options: ResolvedAdaBeliefConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: AdaBeliefConfig) {
    const o = resolveAdaBelief(cfg);
    super(engine, 'adabelief', 'AdaBelief', target, o.paramGroups);
    this.options = o;
    this.lr = o.lr;
    this.slot('exp_avg');
    this.slot('exp_avg_var', 0, this.size, { nonNegative: true });
    if (o.amsgrad) this.slot('max_exp_avg_var', 0, this.size, { nonNegative: true });
  }
  protected call(p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_adabelief_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('exp_avg', 0), this.at('exp_avg_var', 0), this.at('max_exp_avg_var', 0),
      this.lr, o.betas[0], o.betas[1], o.eps, o.weightDecay, t, +o.weightDecouple, +o.fixedDecay, +o.rectify, d, this.outPtr,
    );
  }
  get config(): { type: 'adabelief' } & ResolvedAdaBeliefConfig {
    return { type: 'adabelief', ...structuredClone(this.options), lr: this.lr };
  }
}
