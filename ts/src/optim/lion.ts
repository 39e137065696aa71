// Lion (Chen et al. 2023) as lion-pytorch 0.2.5's Lion; the formula lives beside the kernel in
// crates/core/src/optim/lion.rs:
//
//   p ← p·(1 − lr·wd)   (decoupledWeightDecay: wd/lr₀, lr₀ the rate the optimizer was built with)
//   p ← p − lr·sign(β₁·m + (1−β₁)·g);  m ← β₂·m + (1−β₂)·g
//
// Defaults (lion-pytorch): lr 1e-4, betas [0.9, 0.99], weightDecay 0, decoupledWeightDecay false. Slot: exp_avg.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkConfig, checkLr, type CommonConfig } from './options.js';
import type { OptimizerTargetLike } from './optimizer.js';
import { TableOptimizer } from './table.js';
import { describe } from '../errors.js';

export interface LionConfig extends CommonConfig {
  /** Default 1e-4 (> 0). */
  lr?: number;
  /** [β₁ of the update's interpolation, β₂ of the momentum], each in [0, 1]; default [0.9, 0.99]. */
  betas?: readonly [number, number];
  /** Decoupled decay p·(1 − lr·wd); default 0. */
  weightDecay?: number;
  /** Divide weightDecay by the initial lr (lion-pytorch's option); default false. */
  decoupledWeightDecay?: boolean;
}

export interface ResolvedLionConfig {
  lr: number;
  betas: [number, number];
  weightDecay: number;
  decoupledWeightDecay: boolean;
  paramGroups: ResolvedParamGroup[];
}

export function resolveLion(cfg?: LionConfig): ResolvedLionConfig {
  const w = 'Lion';
  const c = checkConfig(w, cfg, ['lr', 'betas', 'weightDecay', 'decoupledWeightDecay', 'paramGroups']);
  const b = c.betas ?? [0.9, 0.99];
  if (!Array.isArray(b) || b.length !== 2) throw new TypeError(`${w}: betas must be a pair [beta1, beta2], got ${describe(b)}`);
  const o = {
    lr: checkLr(w, c.lr ?? 1e-4),
    betas: [checkNumber(w, 'betas[0]', b[0], 0, 1), checkNumber(w, 'betas[1]', b[1], 0, 1)] as [number, number],
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    decoupledWeightDecay: checkBool(w, 'decoupledWeightDecay', c.decoupledWeightDecay ?? false),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
  if (o.decoupledWeightDecay && o.lr === 0) throw new RangeError(`${w}: decoupledWeightDecay divides by the initial lr, which must be > 0, got 0`);
  return o;
}

export class Lion extends TableOptimizer {
  readonly options: ResolvedLionConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: LionConfig) {
    const o = resolveLion(cfg);
    super(engine, 'lion', 'Lion', target, o.paramGroups);
    this.options = o;
    this.lr = o.lr;
    this.slot('exp_avg');
  }
  protected call(p: number, g: number, d: number): void {
    const o = this.options;
    this.engine.exports.wcnn_lion_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('exp_avg', 0),
      this.lr, o.betas[0], o.betas[1], o.weightDecay, o.decoupledWeightDecay ? o.lr : 0, d, this.outPtr,
    );
  }
  get config(): { type: 'lion' } & ResolvedLionConfig {
    return { type: 'lion', ...structuredClone(this.options), lr: this.lr };
  }
}
