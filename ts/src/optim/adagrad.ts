// Adagrad (Duchi et al. 2011); the formula lives beside the kernel in crates/core/src/optim/adagrad.rs:
//
//   g ← −g if maximize;  g ← g + wd·p;  lrₜ = lr / (1 + (t−1)·lrDecay);  s ← s + g²
//   p ← p − lrₜ·g / (√s + ε)     epsMode 'outside' (PyTorch)
//   p ← p − lrₜ·g / √(s + ε)     epsMode 'inside'  (Keras, tfjs-core's AdagradOptimizer)
//
// Slot: `sum` (starts at initialAccumulatorValue).
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup, type Run } from './layout.js';
import { checkConfig, checkEnum, checkEps, checkLr, EPS_MODES, presetDefaults, type CommonConfig, type EpsMode, type Preset } from './options.js';
import { Optimizer, type OptimizerTargetLike } from './optimizer.js';

export interface AdagradConfig extends CommonConfig {
  /**
   * Whose defaults to start from, default 'pytorch'. 'keras' (Keras `Adagrad()`, tfjs-core
   * `train.adagrad`): lr 1e-3, initialAccumulatorValue 0.1, eps 1e-7 inside the root. Explicit options
   * override the preset.
   */
  preset?: Preset;
  /** Learning rate; PyTorch 1e-2, Keras 1e-3. */
  lr?: number;
  /** Rate decay: lrₜ = lr / (1 + (t−1)·lrDecay); default 0. */
  lrDecay?: number;
  /** L2 penalty added to the gradient (coupled); default 0. */
  weightDecay?: number;
  /** Starting value of the sum of squares; PyTorch 0, Keras 0.1. */
  initialAccumulatorValue?: number;
  /** ε; PyTorch 1e-10, Keras 1e-7. */
  eps?: number;
  /** Ascend the objective instead (PyTorch's `maximize`); default false. */
  maximize?: boolean;
  /** `'outside'`: √s + ε (PyTorch); `'inside'`: √(s + ε) (Keras). Default from the preset. */
  epsMode?: EpsMode;
}

export interface ResolvedAdagradConfig {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
  epsMode: EpsMode;
  paramGroups: ResolvedParamGroup[];
}

const KEYS = ['preset', 'lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps', 'maximize', 'epsMode', 'paramGroups'] as const;

const PRESETS: Record<Preset, { lr: number; initialAccumulatorValue: number; eps: number; epsMode: EpsMode }> = {
  pytorch: { lr: 1e-2, initialAccumulatorValue: 0, eps: 1e-10, epsMode: 'outside' },
  keras: { lr: 1e-3, initialAccumulatorValue: 0.1, eps: 1e-7, epsMode: 'inside' },
};

export function resolveAdagrad(cfg?: AdagradConfig): ResolvedAdagradConfig {
  const w = 'Adagrad';
  const c = checkConfig(w, cfg, KEYS);
  const d = presetDefaults(w, c, PRESETS);
  return {
    lr: checkLr(w, c.lr ?? d.lr),
    lrDecay: checkNumber(w, 'lrDecay', c.lrDecay ?? 0, 0),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    initialAccumulatorValue: checkNumber(w, 'initialAccumulatorValue', c.initialAccumulatorValue ?? d.initialAccumulatorValue, 0),
    eps: checkEps(w, c.eps ?? d.eps),
    maximize: checkBool(w, 'maximize', c.maximize ?? false),
    epsMode: checkEnum(w, 'epsMode', c.epsMode ?? d.epsMode, EPS_MODES),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export class Adagrad extends Optimizer {
  readonly options: ResolvedAdagradConfig;
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: AdagradConfig) {
    const o = resolveAdagrad(cfg);
    super(engine, 'adagrad', 'Adagrad', target, o.paramGroups);
    this.options = o;
    this.lr = o.lr;
    this.slot('sum', o.initialAccumulatorValue, this.size, { nonNegative: true });
  }
  protected apply(r: Run, p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_adagrad_step(
      p, g, this.at('sum', r.offset), r.length, this.lr * r.lrScale, o.lrDecay, o.weightDecay * r.weightDecayScale, o.eps, t,
      +o.maximize, +(o.epsMode === 'inside'), d,
    );
  }
  get config(): { type: 'adagrad' } & ResolvedAdagradConfig {
    return { type: 'adagrad', ...structuredClone(this.options), lr: this.lr };
  }
}
