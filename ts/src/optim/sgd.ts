// SGD with momentum (Polyak) and Nesterov momentum (Sutskever et al. 2013); the formula lives beside the
// kernel in crates/core/src/optim/sgd.rs:
//
//   g ← −g if maximize;  g ← g + wd·p
//   momentum μ > 0: b ← g on the first step, else b ← μ·b + (1−τ)·g   (τ: dampening)
//                   nesterov: g ← g + μ·b     else g ← b
//   p ← p − lr·g
//
// PyTorch semantics and defaults (lr required). Slot: `momentum_buffer` when momentum > 0.
import { checkBool, checkNumber, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup, type Run } from './layout.js';
import { checkConfig, checkLr, type CommonConfig } from './options.js';
import { Optimizer, type OptimizerTargetLike } from './optimizer.js';

export interface SGDConfig extends CommonConfig {
  /** Learning rate; required, as in PyTorch. */
  lr: number;
  /** Momentum factor, default 0. */
  momentum?: number;
  /** Dampening τ of the momentum, in [0, 1]; default 0. */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0, as PyTorch); default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** Ascend the objective instead (PyTorch's `maximize`); default false. */
  maximize?: boolean;
}

export interface ResolvedSGDConfig {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  maximize: boolean;
  paramGroups: ResolvedParamGroup[];
}

const KEYS = ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'maximize', 'paramGroups'] as const;

export function resolveSGD(cfg?: SGDConfig): ResolvedSGDConfig {
  const w = 'SGD';
  const c = checkConfig(w, cfg, KEYS);
  if (c.lr === undefined) throw new TypeError(`${w}: lr is required (PyTorch's SGD has no default rate), got undefined`);
  const o: ResolvedSGDConfig = {
    lr: checkLr(w, c.lr),
    momentum: checkNumber(w, 'momentum', c.momentum ?? 0, 0),
    dampening: checkNumber(w, 'dampening', c.dampening ?? 0, 0, 1),
    nesterov: checkBool(w, 'nesterov', c.nesterov ?? false),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    maximize: checkBool(w, 'maximize', c.maximize ?? false),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
  if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
    throw new RangeError(`${w}: nesterov requires momentum > 0 and dampening 0, got momentum ${describe(o.momentum)} and dampening ${describe(o.dampening)}`);
  }
  return o;
}

export class SGD extends Optimizer {
  readonly options: ResolvedSGDConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg: SGDConfig) {
    const o = resolveSGD(cfg);
    super(engine, 'sgd', 'SGD', target, o.paramGroups);
    this.options = o;
    this.lr = o.lr;
    if (o.momentum > 0) this.slot('momentum_buffer');
  }
  protected apply(r: Run, p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_sgd_step(
      p, g, this.at('momentum_buffer', r.offset), r.length,
      this.lr * r.lrScale, o.momentum, o.dampening, o.weightDecay * r.weightDecayScale, t, +o.nesterov, +o.maximize, d,
    );
  }
  get config(): { type: 'sgd' } & ResolvedSGDConfig {
    return { type: 'sgd', ...structuredClone(this.options), lr: this.lr };
  }
}
