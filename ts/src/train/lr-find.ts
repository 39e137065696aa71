// The learning-rate range test (Smith 2015, "Cyclical Learning Rates", §3.3; fastai's lr_find): one
// mini-batch per step with the rate growing exponentially from `start` to `end`, the loss smoothed by an
// exponential moving average with bias correction, stopped once the smoothed loss exceeds `divergence` × its
// minimum. Returns the curve and fastai's suggestions; the model's weights and buffers, and a given
// optimizer's state, are afterwards bitwise what they were.
import { checkInt, checkKeys, checkNumber, describe } from '../errors.js';
import type { Model } from '../nn/model.js';
import { Rng } from '../nn/rng.js';
import type { OptimizerConfig, OptimizerName } from '../optim/index.js';
import { Optimizer } from '../optim/optimizer.js';
import { checkBatch, checkXY } from './fit.js';
import { Loss, type LossSpec } from './loss.js';
import { forwardBackward } from './step.js';

export interface LrFindOptions {
  /** First rate, default 1e-7 (fastai's). */
  start?: number;
  /** Last rate, default 10. */
  end?: number;
  /**
   * Steps (mini-batches) from start to end, default 200. With fastai's smoothing (0.98, an average over ~50
   * steps) and its 100 steps the smoothed curve lags the ramp by about four decades; measured on the demo's
   * LeNet, 200 steps put the valley suggestion at 1.3e-3 (Adam trains it well at 1e-3–3e-3), 100 at 1e-2.
   */
  steps?: number;
  /** A config or name (a fresh optimizer for the test) or an Optimizer (its state is restored after). Default Adam. */
  optimizer?: OptimizerConfig | OptimizerName | Optimizer;
  batchSize?: number;
  /** EMA coefficient of the loss smoothing, default 0.98 (fastai's). */
  smoothing?: number;
  /** Stop when the smoothed loss exceeds this × its minimum, default 4 (fastai's). */
  divergence?: number;
  /** Seed of the mini-batch order, default 0. */
  seed?: number;
  loss?: LossSpec;
}

export interface LrFindResult {
  /** The rate of each step taken. */
  lrs: number[];
  /** Each step's mini-batch loss (before its update). */
  losses: number[];
  /** The bias-corrected exponential moving average of `losses`. */
  smoothed: number[];
  /** Stopped before `steps` because the loss diverged (or became non-finite). */
  diverged: boolean;
  /**
   * fastai's suggestions, over the curve without its first tenth and last five points: `steepest`, where
   * the smoothed loss falls fastest per log-rate; `valley`, a third into the longest stretch of descent
   * (fastai's default since 2.5); `minimum`, a tenth of the rate at the smoothed minimum. Null when the
   * curve is too short to say.
   */
  suggestions: { steepest: number | null; valley: number | null; minimum: number | null };
}

const KEYS = ['start', 'end', 'steps', 'optimizer', 'batchSize', 'smoothing', 'divergence', 'seed', 'loss'] as const;

export async function lrFind(model: Model, x: Float32Array, y: ArrayLike<number>, options?: LrFindOptions): Promise<LrFindResult> {
  const where = 'lrFind';
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
  const o = options ?? {};
  checkKeys(where, o, KEYS);
  const start = checkNumber(where, 'start', o.start ?? 1e-7, 0, Infinity, { loOpen: true });
  const end = checkNumber(where, 'end', o.end ?? 10, start, Infinity, { loOpen: true });
  const steps = checkInt(where, 'steps', o.steps ?? 200, 2);
  const batchSize = checkBatch(where, o.batchSize, 64);
  const beta = checkNumber(where, 'smoothing', o.smoothing ?? 0.98, 0, 1, { hiOpen: true });
  const divergence = checkNumber(where, 'divergence', o.divergence ?? 4, 1, Infinity, { loOpen: true });
  const seed = checkInt(where, 'seed', o.seed ?? 0, 0, 0xffffffff);
  const loss = new Loss(model.engine, o.loss, model.outputShape, where);
  const given = o.optimizer instanceof Optimizer ? o.optimizer : null;
  try {
    const n = checkXY(where, model, x, y, loss);
    const opt = given ?? model.engine.optimizer((o.optimizer as OptimizerConfig | OptimizerName | undefined) ?? 'adam', model);
    const saved = { weights: model.getWeights(), optimizer: given?.saveState() ?? null, lr: opt.lr };
    try {
      const { params, grads } = model._buffers;
      const plan = model._plan('train', Math.min(batchSize, n));
      const rng = new Rng(seed);
      let order = rng.permutation(n);
      let at = 0;
      const result: LrFindResult = { lrs: [], losses: [], smoothed: [], diverged: false, suggestions: { steepest: null, valley: null, minimum: null } };
      let avg = 0;
      let best = Infinity;
      for (let i = 0; i < steps; i++) {
        const lr = start * (end / start) ** (i / (steps - 1));
        if (at + batchSize > n) {
          order = rng.permutation(n);
          at = 0;
        }
        const size = Math.min(batchSize, n - at);
        const fb = forwardBackward(plan, loss, { x, y, n, per: model.sampleSize, order }, at, size, size);
        at += size;
        if (fb.nonFinite) {
          result.diverged = true;
          break;
        }
        avg = beta * avg + (1 - beta) * fb.loss;
        const smooth = avg / (1 - beta ** (i + 1));
        result.lrs.push(lr);
        result.losses.push(fb.loss);
        result.smoothed.push(smooth);
        best = Math.min(best, smooth);
        if (i > 0 && smooth > divergence * best) {
          result.diverged = true;
          break;
        }
        opt.lr = lr;
        opt.step(params, grads);
        model._touch();
      }
      // As fastai: the first tenth of the steps (the average is still settling) and the last five (the
      // blow-up) are not considered for suggestions.
      const skip = Math.floor(steps / 10);
      const upto = Math.max(skip, result.lrs.length - 5);
      result.suggestions = suggest(result.lrs.slice(skip, upto), result.smoothed.slice(skip, upto));
      return result;
    } finally {
      model.setWeights(saved.weights);
      if (given) given.loadState(saved.optimizer!);
      else opt.dispose();
    }
  } finally {
    loss.dispose();
  }
}

/** fastai's suggestion functions (fastai/callback/schedule.py: steep, valley, minimum) over the smoothed curve. */
export function suggest(lrs: readonly number[], losses: readonly number[]): LrFindResult['suggestions'] {
  const n = losses.length;
  if (n < 3) return { steepest: null, valley: null, minimum: null };
  // steep: the most negative finite difference of loss over log10(lr).
  let steep = 1;
  let slope = Infinity;
  for (let i = 1; i < n; i++) {
    const g = (losses[i] - losses[i - 1]) / (Math.log10(lrs[i]) - Math.log10(lrs[i - 1]));
    if (g < slope) {
      slope = g;
      steep = i;
    }
  }
  // valley: the longest decreasing subsequence; a third of the way plus a sixth into it.
  const lds = new Array<number>(n).fill(1);
  let [maxStart, maxEnd] = [0, 0];
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[maxEnd] < lds[i]) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const valley = Math.min(n - 1, maxStart + Math.floor(sections) + Math.floor(sections / 2));
  let min = 0;
  for (let i = 1; i < n; i++) if (losses[i] < losses[min]) min = i;
  return { steepest: lrs[steep], valley: lrs[valley], minimum: lrs[min] / 10 };
}
