// RMSprop (Hinton 2012); the formula lives beside the kernel in crates/core/src/optim/rmsprop.rs:
//
//   g ← −g if maximize;  g ← g + wd·p;  v ← α·v + (1−α)·g²
//   centered: ḡ ← α·ḡ + (1−α)·g;  x = v − ḡ²       else x = v
//   d = √x + ε  (epsMode 'outside', PyTorch)       d = √(x + ε)  ('inside', Keras / TF)
//   lrInMomentum false (PyTorch): momentum b ← μ·b + g/d;     p ← p − lr·b      else p ← p − lr·g/d
//   lrInMomentum true  (Keras):   momentum b ← μ·b + lr·g/d;  p ← p − b         else p ← p − lr·g/d
//
// Slots: `square_avg`; `grad_avg` when centered; `momentum_buffer` when momentum > 0.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup, type Run } from './layout.js';
import { checkConfig, checkEnum, checkEps, checkLr, EPS_MODES, presetDefaults, type CommonConfig, type EpsMode, type Preset } from './options.js';
import { Optimizer, type OptimizerTargetLike } from './optimizer.js';

export interface RMSpropConfig extends CommonConfig {
  /**
   * Whose defaults to start from, default 'pytorch'. 'keras' (Keras `RMSprop()`, tfjs-core
   * `train.rmsprop`): lr 1e-3, alpha (Keras `rho`) 0.9, eps 1e-7 inside the root, lr inside the momentum
   * buffer. (tfjs-core's centered form computes √(v − (ḡ² + ε)); TF and Keras, and this, √(v − ḡ² + ε).)
   * Explicit options override the preset.
   */
  preset?: Preset;
  /** Learning rate; PyTorch 1e-2, Keras 1e-3. */
  lr?: number;
  /** Smoothing constant of the squared-gradient average; PyTorch 0.99, Keras 0.9 (`rho`). */
  alpha?: number;
  /** ε; PyTorch 1e-8, Keras 1e-7. */
  eps?: number;
  /** L2 penalty added to the gradient (coupled); default 0. */
  weightDecay?: number;
  /** Momentum factor, default 0. */
  momentum?: number;
  /** Normalise by the variance estimate (subtract the squared mean gradient); default false. */
  centered?: boolean;
  /** Ascend the objective instead (PyTorch's `maximize`); default false. */
  maximize?: boolean;
  /** `'outside'`: √x + ε (PyTorch); `'inside'`: √(x + ε) (Keras). Default from the preset. */
  epsMode?: EpsMode;
  /** Scale by lr inside the momentum buffer (Keras) instead of after it (PyTorch). Default from the preset. */
  lrInMomentum?: boolean;
}

export interface ResolvedRMSpropConfig {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
  epsMode: EpsMode;
  lrInMomentum: boolean;
  paramGroups: ResolvedParamGroup[];
}

const KEYS = [
  'preset', 'lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize', 'epsMode', 'lrInMomentum', 'paramGroups',
] as const;

const PRESETS: Record<Preset, { lr: number; alpha: number; eps: number; epsMode: EpsMode; lrInMomentum: boolean }> = {
  pytorch: { lr: 1e-2, alpha: 0.99, eps: 1e-8, epsMode: 'outside', lrInMomentum: false },
  keras: { lr: 1e-3, alpha: 0.9, eps: 1e-7, epsMode: 'inside', lrInMomentum: true },
};

export function resolveRMSprop(cfg?: RMSpropConfig): ResolvedRMSpropConfig {
  const w = 'RMSprop';
  const c = checkConfig(w, cfg, KEYS);
  const d = presetDefaults(w, c, PRESETS);
  return {
    lr: checkLr(w, c.lr ?? d.lr),
    alpha: checkNumber(w, 'alpha', c.alpha ?? d.alpha, 0, 1),
    eps: checkEps(w, c.eps ?? d.eps),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    momentum: checkNumber(w, 'momentum', c.momentum ?? 0, 0),
    centered: checkBool(w, 'centered', c.centered ?? false),
    maximize: checkBool(w, 'maximize', c.maximize ?? false),
    epsMode: checkEnum(w, 'epsMode', c.epsMode ?? d.epsMode, EPS_MODES),
    lrInMomentum: checkBool(w, 'lrInMomentum', c.lrInMomentum ?? d.lrInMomentum),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export class RMSprop extends Optimizer {
  readonly options: ResolvedRMSpropConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: RMSpropConfig) {
    const o = resolveRMSprop(cfg);
    super(engine, 'rmsprop', 'RMSprop', target, o.paramGroups);
    this.options = o;
    this.lr = o.lr;
    this.slot('square_avg', 0, this.size, { nonNegative: true });
    if (o.centered) this.slot('grad_avg');
    if (o.momentum > 0) this.slot('momentum_buffer');
  }
  protected apply(r: Run, p: number, g: number, d: number): void {
    const o = this.options;
    this.engine.exports.wcnn_rmsprop_step(
      p, g, this.at('square_avg', r.offset), this.at('grad_avg', r.offset), this.at('momentum_buffer', r.offset), r.length,
      this.lr * r.lrScale, o.alpha, o.eps, o.weightDecay * r.weightDecayScale, o.momentum,
      +o.maximize, +(o.epsMode === 'inside'), +o.lrInMomentum, d,
    );
  }
  get config(): { type: 'rmsprop' } & ResolvedRMSpropConfig {
    return { type: 'rmsprop', ...structuredClone(this.options), lr: this.lr };
  }
}
