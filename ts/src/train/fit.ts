// The training loop and batched inference over a Sequential model.
import { checkBool, checkFinite, checkInt, checkKeys, describe } from '../errors.js';
import { checkLabels } from '../ops/activation.js';
import type { OptimizerConfig, OptimizerName } from '../optim/index.js';
import { Optimizer } from '../optim/optimizer.js';
import type { Sequential } from '../nn/sequential.js';
import type { Checkpoint } from './checkpoint.js';
import type { DivergenceConfig, DivergenceWarning } from './divergence.js';
import type { NonFiniteEvent, NonFinitePolicy } from './non-finite.js';
import type { EarlyStoppingConfig } from './early-stopping.js';
import type { ScheduleConfig } from './schedules.js';
import type { LayerTelemetry } from './telemetry.js';
import { train } from './train-loop.js';

export interface BatchInfo {
  epoch: number;
  /** Optimizer step within the epoch. */
  batch: number;
  batches: number;
  /** Samples in this step (the last one may be smaller; with `accumulate`, all its micro-batches). */
  size: number;
  /** Mean cross-entropy over this step's samples, before the update. */
  loss: number;
  /** Learning rate used by this step. */
  lr: number;
  /** Global L2 norm of the gradient before clipping (only with `clipNorm`). */
  gradNorm?: number;
  /** Per-layer statistics of this step (only with `telemetry: true`). */
  telemetry?: LayerTelemetry[];
}

export interface EpochInfo {
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch (weighted by batch size). */
  loss: number;
  seconds: number;
  /** Learning rate at the end of the epoch. */
  lr: number;
  valLoss?: number;
  valAccuracy?: number;
}

/** Something fit noticed without stopping: a diverging loss, or a step skipped by `onNonFinite: 'skipStep'`. */
export type TrainingWarning = ({ kind: 'divergence' } & DivergenceWarning) | ({ kind: 'nonFinite' } & NonFiniteEvent);

export interface Callbacks {
  onBatchEnd?(info: BatchInfo): void | Promise<void>;
  onEpochEnd?(info: EpochInfo): void | Promise<void>;
  /** Divergence warnings and skipped steps, as they happen (each also lands in `history.warnings`). */
  onWarning?(w: TrainingWarning): void | Promise<void>;
}

export interface FitOptions {
  /** Passes over the data, default 1. */
  epochs?: number;
  /** Samples per forward/backward pass, default 32. */
  batchSize?: number;
  /**
   * Micro-batches of `batchSize` whose gradients add up to one optimizer step (default 1): the step sees
   * the mean gradient over all their samples, as one batch of `batchSize × accumulate` would.
   */
  accumulate?: number;
  /**
   * A config (`{ type: 'adam', lr: 1e-3 }`), a name, or an Optimizer built with `engine.optimizer()`.
   * A config makes a fresh optimizer that lives for this call; pass an Optimizer to keep its state across calls.
   * Default: Adam with PyTorch's defaults.
   */
  optimizer?: OptimizerConfig | OptimizerName | Optimizer;
  /** A learning-rate schedule over the optimizer's rate (stepped every epoch, or every step with `every: 'batch'`). */
  schedule?: ScheduleConfig;
  /** Rescale the gradients when their global L2 norm exceeds this (torch's clip_grad_norm_). */
  clipNorm?: number;
  /** Clamp every gradient value to [−clipValue, clipValue] (torch's clip_grad_value_). */
  clipValue?: number;
  /** Stop when a monitored metric stops improving (Keras's EarlyStopping). */
  earlyStopping?: EarlyStoppingConfig;
  /** Per-layer gradient norm, update-to-weight ratio and effective step statistics in every BatchInfo. */
  telemetry?: boolean;
  /** Reshuffle the samples every epoch, default true. */
  shuffle?: boolean;
  /** Seed of the shuffling, default 0. */
  seed?: number;
  /** Evaluated after every epoch. */
  validationData?: { x: Float32Array; y: ArrayLike<number> };
  callbacks?: Callbacks;
  /** Called with a checkpoint every `every` epochs (default 1) and after the last one. */
  checkpoint?: { every?: number; save(c: Checkpoint): void | Promise<void> };
  /**
   * Continues from a checkpoint: same weights, optimizer state, schedule and shuffling as never stopping.
   * The checkpoint carries the optimizer's and the schedule's configs, so `resume` alone is enough; options
   * given beside it must match the checkpoint's.
   */
  resume?: Checkpoint;
  /**
   * When a loss, gradient or updated weight stops being finite: the step is undone (model and optimizer at
   * the last finite state), then 'throw' (default) rejects, 'skipStep' goes on with the next batch,
   * 'restore' stops training and resolves (`history.nonFinite` says where).
   */
  onNonFinite?: NonFinitePolicy;
  /** Warn through `callbacks.onWarning` when the smoothed loss rises above factor × its minimum (default on). */
  divergence?: DivergenceConfig | false;
}

export interface History {
  epochs: EpochInfo[];
  /** Divergence warnings and skipped steps, in order. */
  warnings: TrainingWarning[];
  /** With `onNonFinite: 'restore'`: where training stopped. */
  nonFinite?: NonFiniteEvent;
  /** Set when early stopping ended training before `epochs`. */
  stoppedEarly?: boolean;
  /** With early stopping: the epoch with the best monitored value. */
  bestEpoch?: number;
}

export interface EvalResult {
  loss: number;
  accuracy: number;
}

const FIT_KEYS = [
  'epochs', 'batchSize', 'accumulate', 'optimizer', 'schedule', 'clipNorm', 'clipValue', 'earlyStopping', 'telemetry',
  'shuffle', 'seed', 'validationData', 'callbacks', 'checkpoint', 'resume', 'onNonFinite', 'divergence',
] as const;

/** An options argument: undefined is {}, anything but a plain object is a TypeError; unknown keys are refused. */
export function checkOptions<T extends object>(where: string, opts: T | undefined, keys: readonly string[]): T {
  if (opts === undefined) return {} as T;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new TypeError(`${where}: options must be an object, got ${describe(opts)}`);
  }
  checkKeys(where, opts, keys);
  return opts;
}

/** Checks x (N × sampleSize, finite) and y (N labels, required with `needLabels`); returns N. */
export function checkXY(where: string, model: Sequential, x: unknown, y: unknown, needLabels = false): number {
  if (!(x instanceof Float32Array)) throw new TypeError(`${where}: x must be a Float32Array, got ${describe(x)}`);
  const per = model.sampleSize;
  if (x.length === 0 || x.length % per !== 0) {
    throw new RangeError(`${where}: x has ${x.length} values, expected a positive multiple of ${per} (samples of [${model.inputShape.join(', ')}])`);
  }
  checkFinite(where, 'x', x);
  const n = x.length / per;
  if (y === undefined && needLabels) throw new TypeError(`${where}: y (the ${n} class labels) is required`);
  if (y !== undefined) checkLabels(where, y, n, model.classes);
  return n;
}

export function checkBatch(where: string, v: unknown, dflt: number): number {
  return checkInt(where, 'batchSize', v ?? dflt, 1);
}

/** Copies samples `order[from..from+count]` into the model's input and label batch. */
export function gather(model: Sequential, x: Float32Array, y: ArrayLike<number> | undefined, order: Uint32Array | null, from: number, count: number): void {
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

export async function fit(model: Sequential, x: Float32Array, y: ArrayLike<number>, opts?: FitOptions): Promise<History> {
  const where = 'fit';
  const o = checkOptions(where, opts, FIT_KEYS);
  const n = checkXY(where, model, x, y, true);
  return train(model, x, y, n, o);
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
export async function evaluate(model: Sequential, x: Float32Array, y: ArrayLike<number>, options?: { batchSize?: number }): Promise<EvalResult> {
  const where = 'evaluate';
  const opts = checkOptions(where, options, ['batchSize']);
  const n = checkXY(where, model, x, y, true);
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
export async function predict(model: Sequential, x: Float32Array, options?: { batchSize?: number; logits?: boolean }): Promise<Float32Array> {
  const where = 'predict';
  const opts = checkOptions(where, options, ['batchSize', 'logits']);
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
