// The training loop and batched inference over a Sequential model.
import { checkBool, checkFinite, checkInt, checkKeys, describe } from '../errors.js';
import type { OptimizerConfig, OptimizerName } from '../optim/index.js';
import { Optimizer } from '../optim/optimizer.js';
import type { Model } from '../nn/model.js';
import { gather } from './batch.js';
import { Loss, type LossSpec } from './loss.js';
import type { Checkpoint } from './checkpoint.js';
import type { AdvisorOptions, Finding } from './advisor.js';
import type { DivergenceConfig, DivergenceWarning } from './divergence.js';
import type { SwitchEvent, SwitchPolicy } from './switch.js';
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
  /** A strategy switch (`switch`), with its reason and step (also in `history.switches`). */
  onSwitch?(e: SwitchEvent): void | Promise<void>;
  /** An advisor finding (`advisor`), as it is made (also in `history.findings`). */
  onFinding?(f: Finding): void | Promise<void>;
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
  /** The loss to minimise (default cross-entropy over class labels); evaluate takes the same. */
  loss?: LossSpec;
  /**
   * Switch strategy while training: 'swats' (Adam → SGD once the projected SGD rate has stabilised,
   * carrying it), or rules that replace the optimizer and/or schedule on a plateau or on overfitting.
   */
  switch?: SwitchPolicy;
  /** Diagnostics during training: findings with their evidence and a suggestion (`true` or thresholds). */
  advisor?: boolean | AdvisorOptions;
}

export interface History {
  epochs: EpochInfo[];
  /** Strategy switches (`switch`), in order. */
  switches: SwitchEvent[];
  /** Advisor findings (`advisor`), in order. */
  findings: Finding[];
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
  /** With class labels: the fraction classified right (ignoreIndex labels not counted). */
  accuracy?: number;
  /** With `topK: [k, …]`: the fraction whose label is among the k highest scores. */
  topK?: Record<number, number>;
}

const FIT_KEYS = [
  'epochs', 'batchSize', 'accumulate', 'optimizer', 'schedule', 'clipNorm', 'clipValue', 'earlyStopping', 'telemetry',
  'shuffle', 'seed', 'validationData', 'callbacks', 'checkpoint', 'resume', 'onNonFinite', 'divergence', 'loss', 'switch', 'advisor',
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

/** Checks x (N samples of the model's input shape, finite float32); returns N. */
export function checkX(where: string, model: Model, x: unknown): number {
  if (!(x instanceof Float32Array)) throw new TypeError(`${where}: x must be a Float32Array, got ${describe(x)}`);
  const per = model.sampleSize;
  if (x.length === 0 || x.length % per !== 0) {
    throw new RangeError(`${where}: x has ${x.length} values, expected a positive multiple of ${per} (samples of [${model.inputShape.join(', ')}])`);
  }
  checkFinite(where, 'x', x);
  return x.length / per;
}

/** Checks x and the targets y for `loss` (required: labels, or values shaped like the output); returns N. */
export function checkXY(where: string, model: Model, x: unknown, y: unknown, loss: Loss): number {
  const n = checkX(where, model, x);
  if (y === undefined || y === null) {
    throw new TypeError(`${where}: y (the ${n} ${loss.config.type === 'crossEntropy' ? 'class labels' : 'targets'}) is required`);
  }
  loss.checkTargets(where, y, n);
  return n;
}

export function checkBatch(where: string, v: unknown, dflt: number): number {
  return checkInt(where, 'batchSize', v ?? dflt, 1);
}

export async function fit(model: Model, x: Float32Array, y: ArrayLike<number>, opts?: FitOptions): Promise<History> {
  const where = 'fit';
  const o = checkOptions(where, opts, FIT_KEYS);
  const loss = new Loss(model.engine, o.loss, model.outputShape, where);
  try {
    const n = checkXY(where, model, x, y, loss);
    return await train(model, x, y, n, o, loss);
  } finally {
    loss.dispose();
  }
}

export interface EvaluateOptions {
  batchSize?: number;
  /** The loss reported (default cross-entropy), as in fit. */
  loss?: LossSpec;
  /** Top-k accuracies to report besides accuracy (labels only), e.g. [5]. */
  topK?: number[];
}

/**
 * The loss (and, with class labels, the accuracy and top-k accuracies) of the model on (x, y), in eval mode
 * (running statistics, no dropout).
 */
export async function evaluate(model: Model, x: Float32Array, y: ArrayLike<number>, options?: EvaluateOptions): Promise<EvalResult> {
  const where = 'evaluate';
  const opts = checkOptions(where, options, ['batchSize', 'loss', 'topK']);
  const batchSize = checkBatch(where, opts.batchSize, 256);
  const ks = opts.topK === undefined ? [] : opts.topK;
  if (!Array.isArray(ks)) throw new TypeError(`${where}: topK must be an array of k values, got ${describe(ks)}`);
  ks.forEach((k, i) => checkInt(where, `topK[${i}]`, k, 1, model.outputSize));
  const loss = new Loss(model.engine, opts.loss, model.outputShape, where);
  try {
    const n = checkXY(where, model, x, y, loss);
    const labels = loss.targetKind(y, n) === 'labels';
    const width = model.outputSize;
    const hits = new Float64Array(ks.length + 1);
    let counted = 0;
    let lossSum = 0;
    const plan = model._plan('infer', Math.min(batchSize, n));
    for (let from = 0; from < n; from += batchSize) {
      const size = Math.min(batchSize, n - from);
      gather(plan, model.sampleSize, x, null, from, size);
      loss.gather(y, n, null, from, size);
      plan.forward(size, false);
      lossSum += loss.forward(plan.outputPtr, 0, size) * (loss.config.reduction === 'sum' ? 1 : size);
      if (!labels) continue;
      const out = model.engine.heap.f32.subarray(plan.outputPtr >>> 2, (plan.outputPtr >>> 2) + size * width);
      for (let s = 0; s < size; s++) {
        const label = y[from + s];
        if (label === loss.config.ignoreIndex) continue;
        counted++;
        const row = out.subarray(s * width, (s + 1) * width);
        // Rank of the true class: how many scores beat it (ties go to the lower index, as argmax).
        let rank = 0;
        for (let j = 0; j < width; j++) if (row[j] > row[label] || (row[j] === row[label] && j < label)) rank++;
        if (rank === 0) hits[0]++;
        ks.forEach((k, i) => {
          if (rank < k) hits[i + 1]++;
        });
      }
    }
    const result: EvalResult = { loss: loss.config.reduction === 'sum' ? lossSum : lossSum / n };
    if (labels) {
      result.accuracy = counted > 0 ? hits[0] / counted : NaN;
      if (ks.length) result.topK = Object.fromEntries(ks.map((k, i) => [k, counted > 0 ? hits[i + 1] / counted : NaN]));
    }
    return result;
  } finally {
    loss.dispose();
  }
}

export interface PredictOptions {
  batchSize?: number;
  /**
   * Applied to the outputs: 'softmax' (the default for a classifier, whose output is a vector), 'sigmoid'
   * (multi-label), or 'none' (raw outputs; the default otherwise).
   */
  activation?: 'softmax' | 'sigmoid' | 'none';
  /** The same as `activation: 'none'`. */
  logits?: boolean;
}

/** The model's outputs for x in eval mode, N × outputSize (class probabilities by default for a classifier). */
export async function predict(model: Model, x: Float32Array, options?: PredictOptions): Promise<Float32Array> {
  const where = 'predict';
  const opts = checkOptions(where, options, ['batchSize', 'logits', 'activation']);
  const n = checkX(where, model, x);
  const batchSize = checkBatch(where, opts.batchSize, 256);
  const raw = checkBool(where, 'logits', opts.logits ?? false);
  const act = opts.activation ?? (raw || model.outputShape.length !== 1 ? 'none' : 'softmax');
  if (!['softmax', 'sigmoid', 'none'].includes(act)) throw new TypeError(`${where}: activation must be 'softmax', 'sigmoid' or 'none', got ${describe(act)}`);
  if (raw && act !== 'none') throw new TypeError(`${where}: logits: true and activation '${act}' contradict`);
  const k = model.outputSize;
  const out = new Float32Array(n * k);
  const plan = model._plan('infer', Math.min(batchSize, n));
  for (let from = 0; from < n; from += batchSize) {
    const size = Math.min(batchSize, n - from);
    gather(plan, model.sampleSize, x, null, from, size);
    plan.forward(size, false);
    out.set(model.engine.heap.f32.subarray(plan.outputPtr >>> 2, (plan.outputPtr >>> 2) + size * k), from * k);
  }
  if (act === 'sigmoid') for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-out[i]));
  if (act === 'softmax') {
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
