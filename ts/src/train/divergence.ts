// A divergence warning: the training loss, smoothed as fastai's lr_find smooths it (an exponential moving
// average with bias correction), rising above `factor` times its running minimum. Finite but exploding
// losses (lr 1e6 with Adam reached 5e13 in 40 steps) are then reported while they happen, not only when
// they finally overflow.
import { checkInt, checkKeys, checkNumber, describe } from '../errors.js';

export interface DivergenceConfig {
  /** Warn when the smoothed loss exceeds factor × its minimum so far; default 4 (fastai's lr_find stop). */
  factor?: number;
  /** EMA coefficient of the smoothing, default 0.98. */
  smoothing?: number;
  /** Steps before the first warning can fire (the minimum needs a few samples), default 10. */
  warmup?: number;
}

export interface DivergenceWarning {
  epoch: number;
  step: number;
  smoothedLoss: number;
  minLoss: number;
  factor: number;
  message: string;
}

export function resolveDivergence(where: string, v: unknown): Required<DivergenceConfig> | null {
  if (v === false) return null;
  const c = (v ?? {}) as DivergenceConfig;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new TypeError(`${where}: divergence must be { factor?, smoothing?, warmup? } or false, got ${describe(v)}`);
  }
  checkKeys(`${where}: divergence`, c, ['factor', 'smoothing', 'warmup']);
  return {
    factor: checkNumber(where, 'divergence.factor', c.factor ?? 4, 1, Infinity, { loOpen: true }),
    smoothing: checkNumber(where, 'divergence.smoothing', c.smoothing ?? 0.98, 0, 1, { hiOpen: true }),
    warmup: checkInt(where, 'divergence.warmup', c.warmup ?? 10, 1),
  };
}

/** Tracks the smoothed loss; warns once each time it crosses above factor × minimum (re-arms below it). */
export class DivergenceMonitor {
  readonly #c: Required<DivergenceConfig>;
  #avg = 0;
  #n = 0;
  #min = Infinity;
  #armed = true;

  constructor(c: Required<DivergenceConfig>) {
    this.#c = c;
  }

  /** Adds one step's loss; returns a warning when this step crosses the line. */
  update(loss: number, epoch: number, step: number): DivergenceWarning | null {
    const b = this.#c.smoothing;
    this.#n++;
    this.#avg = b * this.#avg + (1 - b) * loss;
    const smoothed = this.#avg / (1 - b ** this.#n);
    this.#min = Math.min(this.#min, smoothed);
    const over = this.#n >= this.#c.warmup && smoothed > this.#c.factor * this.#min;
    if (!over) {
      this.#armed = true;
      return null;
    }
    if (!this.#armed) return null;
    this.#armed = false;
    const f = this.#c.factor;
    return {
      epoch,
      step,
      smoothedLoss: smoothed,
      minLoss: this.#min,
      factor: f,
      message: `the smoothed training loss ${smoothed.toPrecision(4)} at epoch ${epoch}, step ${step} is above ${f}× its minimum ${this.#min.toPrecision(4)}: training is diverging; lower the learning rate or add a warm-up`,
    };
  }
}
