// Adam / AMSGrad, PyTorch semantics and defaults; the formula lives beside the kernel in crates/core/src/optim/adam.rs.
import { checkBool, checkNumber, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { checkConfig, Optimizer } from './optimizer.js';

export interface AdamConfig {
  /** Learning rate, default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment averages, default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the bias-corrected root, outside it; default 1e-8 (tfjs/Keras: 1e-7). */
  eps?: number;
  /** L2 penalty added to the gradient (coupled, not AdamW), default 0. */
  weightDecay?: number;
  /** Use the running maximum of the second moment (AMSGrad), default false. */
  amsgrad?: boolean;
}

const KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'] as const;

export function resolveAdam(cfg?: AdamConfig): Required<AdamConfig> {
  const w = 'Adam';
  const c = checkConfig(w, cfg, KEYS);
  const betas = c.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2) {
    throw new TypeError(`${w}: betas must be a pair [beta1, beta2], got ${describe(betas)}`);
  }
  return {
    lr: checkNumber(w, 'lr', c.lr ?? 1e-3, 0),
    betas: [
      checkNumber(w, 'betas[0]', betas[0], 0, 1, { hiOpen: true }),
      checkNumber(w, 'betas[1]', betas[1], 0, 1, { hiOpen: true }),
    ],
    eps: checkNumber(w, 'eps', c.eps ?? 1e-8, 0, Infinity, { loOpen: true }),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    amsgrad: checkBool(w, 'amsgrad', c.amsgrad ?? false),
  };
}

export class Adam extends Optimizer {
  readonly options: Required<AdamConfig>;
  constructor(engine: Engine, size: number, cfg?: AdamConfig) {
    const options = resolveAdam(cfg);
    super(engine, 'Adam', size);
    this.options = options;
    this.lr = options.lr;
    this.slot('exp_avg');
    this.slot('exp_avg_sq');
    if (options.amsgrad) this.slot('max_exp_avg_sq');
  }
  protected apply(p: number, g: number, step: number): void {
    const o = this.options;
    this.engine.exports.wcnn_adam_step(
      p, g, this.ptrOf('exp_avg'), this.ptrOf('exp_avg_sq'), this.ptrOf('max_exp_avg_sq'), this.size,
      this.lr, o.betas[0], o.betas[1], o.eps, o.weightDecay, step,
    );
  }
  get config(): Record<string, unknown> {
    return { type: 'adam', ...this.options, lr: this.lr };
  }
}
