// Adagrad, PyTorch semantics and defaults; the formula lives beside the kernel in crates/core/src/optim/adagrad.rs.
import { checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { checkConfig, Optimizer } from './optimizer.js';

export interface AdagradConfig {
  /** Learning rate, default 1e-2. */
  lr?: number;
  /** Rate decay: lrₜ = lr / (1 + (t-1)·lrDecay), default 0. */
  lrDecay?: number;
  /** L2 penalty added to the gradient, default 0. */
  weightDecay?: number;
  /** Starting value of the sum of squares, default 0 (Keras/tfjs use 0.1). */
  initialAccumulatorValue?: number;
  /** Added to √sum, outside the root; default 1e-10. */
  eps?: number;
}

const KEYS = ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'] as const;

export function resolveAdagrad(cfg?: AdagradConfig): Required<AdagradConfig> {
  const w = 'Adagrad';
  const c = checkConfig(w, cfg, KEYS);
  return {
    lr: checkNumber(w, 'lr', c.lr ?? 1e-2, 0),
    lrDecay: checkNumber(w, 'lrDecay', c.lrDecay ?? 0, 0),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    initialAccumulatorValue: checkNumber(w, 'initialAccumulatorValue', c.initialAccumulatorValue ?? 0, 0),
    eps: checkNumber(w, 'eps', c.eps ?? 1e-10, 0, Infinity, { loOpen: true }),
  };
}

export class Adagrad extends Optimizer {
  readonly options: Required<AdagradConfig>;
  constructor(engine: Engine, size: number, cfg?: AdagradConfig) {
    const options = resolveAdagrad(cfg);
    super(engine, 'Adagrad', size);
    this.options = options;
    this.lr = options.lr;
    this.slot('sum', options.initialAccumulatorValue);
  }
  protected apply(p: number, g: number, step: number): void {
    const o = this.options;
    this.engine.exports.wcnn_adagrad_step(p, g, this.ptrOf('sum'), this.size, this.lr, o.lrDecay, o.weightDecay, o.eps, step);
  }
  get config(): Record<string, unknown> {
    return { type: 'adagrad', ...this.options, lr: this.lr };
  }
}
