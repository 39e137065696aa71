// The training loop and batched inference over a Sequential model.
import { checkBool, checkFinite, checkInt, checkKeys, describe } from '../errors.js';
import { checkLabels } from '../ops/activation.js';
import { createOptimizer, type OptimizerConfig, type OptimizerName } from '../optim/index.js';
import { Optimizer } from '../optim/optimizer.js';
import { Rng } from '../nn/rng.js';
import type { Sequential } from '../nn/sequential.js';

export interface BatchInfo {
  epoch: number;
  /** Batch index within the epoch. */
  batch: number;
  batches: number;
  /** Samples in this batch (the last one may be smaller). */
  size: number;
  /** Mean cross-entropy over this batch, before the update. */
  loss: number;
}

export interface EpochInfo {
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch (weighted by batch size). */
  loss: number;
  seconds: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface Callbacks {
  onBatchEnd?(info: BatchInfo): void | Promise<void>;
  onEpochEnd?(info: EpochInfo): void | Promise<void>;
}

export interface FitOptions {
  /** Passes over the data, default 1. */
  epochs?: number;
  /** Samples per optimizer step, default 32. */
  batchSize?: number;
  /**
   * A config (`{ type: 'adam', lr: 1e-3 }`), a name, or an Optimizer built with `engine.optimizer()`.
   * A config makes a fresh optimizer that lives for this call; pass an Optimizer to keep its state across calls.
   * Default: Adam with PyTorch's defaults.
   */
  optimizer?: OptimizerConfig | OptimizerName | Optimizer;
  /** Reshuffle the samples every epoch, default true. */
  shuffle?: boolean;
  /** Seed of the shuffling, default 0. */
  seed?: number;
  /** Evaluated after every epoch. */
  validationData?: { x: Float32Array; y: ArrayLike<number> };
  callbacks?: Callbacks;
}

export interface History {
  epochs: EpochInfo[];
}

export interface EvalResult {
  loss: number;
  accuracy: number;
}

const FIT_KEYS = ['epochs', 'batchSize', 'optimizer', 'shuffle', 'seed', 'validationData', 'callbacks'] as const;

/** Checks x (N × sampleSize, finite) and y (N labels); returns N. */
export function checkXY(where: string, model: Sequential, x: unknown, y: unknown): number {
  if (!(x instanceof Float32Array)) throw new TypeError(`${where}: x must be a Float32Array, got ${describe(x)}`);
  const per = model.sampleSize;
  if (x.length === 0 || x.length % per !== 0) {
    throw new RangeError(`${where}: x has ${x.length} values, expected a positive multiple of ${per} (samples of [${model.inputShape.join(', ')}])`);
  }
  checkFinite(where, 'x', x);
  const n = x.length / per;
  if (y !== undefined) checkLabels(where, y, n, model.classes);
  return n;
}

function checkBatch(where: string, v: unknown, dflt: number): number {
  return checkInt(where, 'batchSize', v ?? dflt, 1);
}

/** Copies samples `order[from..from+count]` into the model's input and label batch. */
function gather(model: Sequential, x: Float32Array, y: ArrayLike<number> | undefined, order: Uint32Array | null, from: number, count: number): void {
  const per = model.sampleSize;
  const input = model._inputView();
  const labels = y ? model._labelView() : null;
  if (order === null) {
    input.set(x.subarray(from * per, (from + count) * per));
    if (labels) for (let k = 0; k < count; k++) labels[k] = y![from + k];
    return;
  }
  for (let k = 0; k < count; k++) {
    const s = order[from + k];
    input.set(x.subarray(s * per, (s + 1) * per), k * per);
    if (labels) labels[k] = y![s];
  }
}

export async function fit(model: Sequential, x: Float32Array, y: ArrayLike<number>, opts: FitOptions = {}): Promise<History> {
  const where = 'fit';
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`${where}: options must be an object, got ${describe(opts)}`);
  checkKeys(where, opts, FIT_KEYS);
  const n = checkXY(where, model, x, y);
  const epochs = checkInt(where, 'epochs', opts.epochs ?? 1, 0);
  const batchSize = checkBatch(where, opts.batchSize, 32);
  const shuffle = checkBool(where, 'shuffle', opts.shuffle ?? true);
  const seed = checkInt(where, 'seed', opts.seed ?? 0, 0, 0xffffffff);
  const cb = opts.callbacks ?? {};
  if (typeof cb !== 'object' || cb === null) throw new TypeError(`${where}: callbacks must be an object, got ${describe(cb)}`);
  checkKeys(`${where}: callbacks`, cb, ['onBatchEnd', 'onEpochEnd']);
  for (const k of ['onBatchEnd', 'onEpochEnd'] as const) {
    if (cb[k] !== undefined && typeof cb[k] !== 'function') throw new TypeError(`${where}: callbacks.${k} must be a function, got ${describe(cb[k])}`);
  }
  const val = opts.validationData;
  if (val !== undefined) {
    if (typeof val !== 'object' || val === null) throw new TypeError(`${where}: validationData must be { x, y }, got ${describe(val)}`);
    checkXY(`${where}: validationData`, model, val.x, val.y);
  }
  const { params, grads } = model._buffers;
  let optimizer: Optimizer;
  let owned = false;
  if (opts.optimizer instanceof Optimizer) {
    optimizer = opts.optimizer;
    if (optimizer.size !== params.length) {
      throw new RangeError(`${where}: the optimizer was built for ${optimizer.size} parameters, this model's buffer has ${params.length} (use engine.optimizer(cfg, model))`);
    }
  } else {
    optimizer = createOptimizer(model.engine, opts.optimizer ?? 'adam', params.length);
    owned = true;
  }

  try {
    model._reserve(Math.min(batchSize, n));
    const rng = new Rng(seed);
    const batches = Math.ceil(n / batchSize);
    const history: History = { epochs: [] };
    for (let epoch = 0; epoch < epochs; epoch++) {
      const t0 = performance.now();
      const order = shuffle ? rng.permutation(n) : null;
      let lossSum = 0;
      for (let b = 0; b < batches; b++) {
        const from = b * batchSize;
        const size = Math.min(batchSize, n - from);
        gather(model, x, y, order, from, size);
        model._forward(size);
        const loss = model._loss(size);
        if (!Number.isFinite(loss)) {
          throw new RangeError(
            `${where}: the loss became ${loss} at epoch ${epoch}, batch ${b}; the weights are those from before this batch. ` +
              'Lower the learning rate or check the inputs\' scale.',
          );
        }
        model._backward(size);
        optimizer.step(params, grads);
        lossSum += loss * size;
        if (cb.onBatchEnd) await cb.onBatchEnd({ epoch, batch: b, batches, size, loss });
      }
      const info: EpochInfo = { epoch, epochs, loss: lossSum / n, seconds: (performance.now() - t0) / 1000 };
      if (val) {
        const r = await evaluate(model, val.x, val.y, { batchSize });
        info.valLoss = r.loss;
        info.valAccuracy = r.accuracy;
      }
      history.epochs.push(info);
      if (cb.onEpochEnd) await cb.onEpochEnd(info);
    }
    return history;
  } finally {
    if (owned) optimizer.dispose();
  }
}

/** Runs the forward pass batch by batch over x (in order); `fn` sees each batch's logits in place. */
function forEachBatch(
  model: Sequential,
  x: Float32Array,
  y: ArrayLike<number> | undefined,
  batchSize: number,
  fn: (logits: Float32Array, from: number, size: number) => void,
): void {
  const n = x.length / model.sampleSize;
  model._reserve(Math.min(batchSize, n));
  const heap = model.engine.heap;
  for (let from = 0; from < n; from += batchSize) {
    const size = Math.min(batchSize, n - from);
    gather(model, x, y, null, from, size);
    const ptr = model._forward(size);
    fn(heap.f32.subarray(ptr >>> 2, (ptr >>> 2) + size * model.classes), from, size);
  }
}

/** Mean cross-entropy and accuracy of the model on (x, y). */
export async function evaluate(model: Sequential, x: Float32Array, y: ArrayLike<number>, opts: { batchSize?: number } = {}): Promise<EvalResult> {
  const where = 'evaluate';
  checkKeys(where, opts, ['batchSize']);
  const n = checkXY(where, model, x, y);
  const batchSize = checkBatch(where, opts.batchSize, 256);
  const k = model.classes;
  let correct = 0;
  let lossSum = 0;
  forEachBatch(model, x, y, batchSize, (logits, from, size) => {
    for (let s = 0; s < size; s++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (logits[s * k + j] > logits[s * k + best]) best = j;
      if (best === y[from + s]) correct++;
    }
    lossSum += model._loss(size) * size;
  });
  return { loss: lossSum / n, accuracy: correct / n };
}

/** Class probabilities (softmax of the logits), or the raw logits with `{ logits: true }`; N × classes. */
export async function predict(model: Sequential, x: Float32Array, opts: { batchSize?: number; logits?: boolean } = {}): Promise<Float32Array> {
  const where = 'predict';
  checkKeys(where, opts, ['batchSize', 'logits']);
  const n = checkXY(where, model, x, undefined);
  const batchSize = checkBatch(where, opts.batchSize, 256);
  const raw = checkBool(where, 'logits', opts.logits ?? false);
  const k = model.classes;
  const out = new Float32Array(n * k);
  forEachBatch(model, x, undefined, batchSize, (logits, from) => {
    out.set(logits, from * k);
  });
  if (!raw) {
    for (let s = 0; s < n; s++) {
      const row = out.subarray(s * k, (s + 1) * k);
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let sum = 0;
      for (let j = 0; j < k; j++) sum += Math.exp(row[j] - max);
      for (let j = 0; j < k; j++) row[j] = Math.exp(row[j] - max) / sum;
    }
  }
  return out;
}
