// RMSprop, PyTorch semantics and defaults; the formula lives beside the kernel in crates/core/src/optim/rmsprop.rs.
import { checkBool, checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { checkConfig, Optimizer } from './optimizer.js';

export interface RMSpropConfig {
  /** Learning rate, default 1e-2. */
  lr?: number;
  /** Smoothing constant of the squared-gradient average, default 0.99 (Keras: 0.9 as `rho`). */
  alpha?: number;
  /** Added to the root, outside it; default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient, default 0. */
  weightDecay?: number;
  /** Momentum factor, default 0. */
  momentum?: number;
  /** Normalise by the variance estimate (subtract the squared mean gradient), default false. */
  centered?: boolean;
}

const KEYS = ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered'] as const;

export function resolveRMSprop(cfg?: RMSpropConfig): Required<RMSpropConfig> {
  const w = 'RMSprop';
  const c = checkConfig(w, cfg, KEYS);
  return {
    lr: checkNumber(w, 'lr', c.lr ?? 1e-2, 0),
    alpha: checkNumber(w, 'alpha', c.alpha ?? 0.99, 0, 1),
    eps: checkNumber(w, 'eps', c.eps ?? 1e-8, 0, Infinity, { loOpen: true }),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    momentum: checkNumber(w, 'momentum', c.momentum ?? 0, 0),
    centered: checkBool(w, 'centered', c.centered ?? false),
  };
}

export class RMSprop extends Optimizer {
  readonly options: Required<RMSpropConfig>;
  constructor(engine: Engine, size: number, cfg?: RMSpropConfig) {
    const options = resolveRMSprop(cfg);
    super(engine, 'RMSprop', size);
    this.options = options;
    this.lr = options.lr;
    this.slot('square_avg');
    if (options.centered) this.slot('grad_avg');
    if (options.momentum > 0) this.slot('momentum_buffer');
  }
  protected apply(p: number, g: number): void {
    const o = this.options;
    this.engine.exports.wcnn_rmsprop_step(
      p, g, this.ptrOf('square_avg'), this.ptrOf('grad_avg'), this.ptrOf('momentum_buffer'), this.size,
      this.lr, o.alpha, o.eps, o.weightDecay, o.momentum,
    );
  }
  get config(): Record<string, unknown> {
    return { type: 'rmsprop', ...this.options, lr: this.lr };
  }
}
