// Adam (Kingma & Ba 2015) with AMSGrad, and AdamW (Loshchilov & Hutter 2019); the formula lives beside the
// kernel in crates/core/src/optim/adam.rs:
//
//   g ← −g if maximize
//   Adam: g ← g + wd·p (coupled)          AdamW: p ← p·(1 − lr·wd) first (decoupled)
//   m ← β₁·m + (1−β₁)·g;  v ← β₂·v + (1−β₂)·g²   (amsgrad: v̄ ← max(v̄, v), used instead of v)
//   p ← p − lr·m̂ / (√v̂ + ε)    epsMode 'outside' (PyTorch, tfjs-core)
//   p ← p − lr·m̂ / √(v̂ + ε)    epsMode 'inside'  (Optax's eps_root)
//
// Slots: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` when amsgrad.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup, type Run } from './layout.js';
import {
  checkBetas, checkConfig, checkEnum, checkEps, checkLr, EPS_MODES, presetDefaults, type CommonConfig, type EpsMode, type Preset,
} from './options.js';
import { Optimizer, type OptimizerTargetLike } from './optimizer.js';

export interface AdamConfig extends CommonConfig {
  /**
   * Whose defaults to start from, default 'pytorch'. 'keras' (Keras `Adam()`, tfjs-core `train.adam`):
   * lr 1e-3, eps 1e-7, ε outside the root as tfjs-core's AdamOptimizer (Keras itself adds ε to √v before
   * the bias correction, its "ε̂", a difference of ε·√(1−β₂ᵗ)). For AdamW 'keras' also sets weightDecay
   * 0.004 (Keras `AdamW()`). Explicit options override the preset.
   */
  preset?: Preset;
  /** Learning rate, default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment averages, each in [0, 1); default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** ε; PyTorch 1e-8, Keras/tfjs 1e-7. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient, default 0. AdamW: decoupled decay p ← p·(1 − lr·wd), default 1e-2. */
  weightDecay?: number;
  /** Use the running maximum of the second moment (AMSGrad); default false. */
  amsgrad?: boolean;
  /** Ascend the objective instead (PyTorch's `maximize`); default false. */
  maximize?: boolean;
  /** `'outside'`: √v̂ + ε (PyTorch, tfjs); `'inside'`: √(v̂ + ε). Default 'outside'. */
  epsMode?: EpsMode;
}

/** AdamW takes Adam's options; only weightDecay's default (1e-2, as PyTorch) and its meaning differ. */
export type AdamWConfig = AdamConfig;

export interface ResolvedAdamConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  epsMode: EpsMode;
  paramGroups: ResolvedParamGroup[];
}

const KEYS = ['preset', 'lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize', 'epsMode', 'paramGroups'] as const;

const PRESETS = {
  adam: { pytorch: { lr: 1e-3, eps: 1e-8, weightDecay: 0 }, keras: { lr: 1e-3, eps: 1e-7, weightDecay: 0 } },
  adamw: { pytorch: { lr: 1e-3, eps: 1e-8, weightDecay: 1e-2 }, keras: { lr: 1e-3, eps: 1e-7, weightDecay: 4e-3 } },
};

export function resolveAdam(cfg?: AdamConfig, kind: 'adam' | 'adamw' = 'adam'): ResolvedAdamConfig {
  const w = kind === 'adam' ? 'Adam' : 'AdamW';
  const c = checkConfig(w, cfg, KEYS);
  const d = presetDefaults(w, c, PRESETS[kind]);
  return {
    lr: checkLr(w, c.lr ?? d.lr),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    eps: checkEps(w, c.eps ?? d.eps),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? d.weightDecay, 0),
    amsgrad: checkBool(w, 'amsgrad', c.amsgrad ?? false),
    maximize: checkBool(w, 'maximize', c.maximize ?? false),
    epsMode: checkEnum(w, 'epsMode', c.epsMode ?? 'outside', EPS_MODES),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export function resolveAdamW(cfg?: AdamWConfig): ResolvedAdamConfig {
  return resolveAdam(cfg, 'adamw');
}

abstract class AdamFamily extends Optimizer {
  readonly options: ResolvedAdamConfig;
  readonly #decoupled: boolean;
  protected constructor(engine: Engine, target: OptimizerTargetLike, o: ResolvedAdamConfig, kind: 'adam' | 'adamw') {
    super(engine, kind, kind === 'adam' ? 'Adam' : 'AdamW', target, o.paramGroups);
    this.options = o;
    this.#decoupled = kind === 'adamw';
    this.lr = o.lr;
    this.slot('exp_avg');
    this.slot('exp_avg_sq', 0, this.size, { nonNegative: true });
    if (o.amsgrad) this.slot('max_exp_avg_sq', 0, this.size, { nonNegative: true });
  }
  protected apply(r: Run, p: number, g: number, d: number, t: number): void {
    const o = this.options;
    const ex = this.engine.exports;
    (this.#decoupled ? ex.wcnn_adamw_step : ex.wcnn_adam_step)(
      p, g, this.at('exp_avg', r.offset), this.at('exp_avg_sq', r.offset), this.at('max_exp_avg_sq', r.offset), r.length,
      this.lr * r.lrScale, o.betas[0], o.betas[1], o.eps, o.weightDecay * r.weightDecayScale, t,
      +o.maximize, +(o.epsMode === 'inside'), d,
    );
  }
}

export class Adam extends AdamFamily {
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: AdamConfig) {
    super(engine, target, resolveAdam(cfg, 'adam'), 'adam');
  }
  get config(): { type: 'adam' } & ResolvedAdamConfig {
    return { type: 'adam', ...structuredClone(this.options), lr: this.lr };
  }
}

export class AdamW extends AdamFamily {
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: AdamWConfig) {
    super(engine, target, resolveAdam(cfg, 'adamw'), 'adamw');
  }
  get config(): { type: 'adamw' } & ResolvedAdamConfig {
    return { type: 'adamw', ...structuredClone(this.options), lr: this.lr };
  }
}
