// The training loop behind `fit`: options resolved and validated up front (nothing changes before that),
// then per step: gather → forward → loss → backward (summed over micro-batches) → clip → optimizer step →
// telemetry → callbacks; per epoch: validation, schedule, early stopping, checkpoint.
import { checkBool, checkInt, checkKeys, describe } from '../errors.js';
import { Optimizer } from '../optim/optimizer.js';
import { Rng } from '../nn/rng.js';
import type { Sequential } from '../nn/sequential.js';
import type { F32Buffer } from '../runtime/memory.js';
import { checkCheckpointShape, type Checkpoint } from './checkpoint.js';
import { EarlyStopping } from './early-stopping.js';
import { checkBatch, checkXY, evaluate, gather, type BatchInfo, type EpochInfo, type FitOptions, type History } from './fit.js';
import { checkClip, clipGradients, type Clip } from './grad-tools.js';
import { createSchedule, type Schedule } from './schedules.js';
import { Telemetry } from './telemetry.js';

interface Resolved {
  epochs: number;
  batchSize: number;
  accumulate: number;
  shuffle: boolean;
  seed: number;
  clip: Clip;
  telemetry: boolean;
  val: { x: Float32Array; y: ArrayLike<number> } | undefined;
  cb: NonNullable<FitOptions['callbacks']>;
  checkpointEvery: number;
}

function resolve(where: string, model: Sequential, opts: FitOptions): Resolved {
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
  let checkpointEvery = 0;
  if (opts.checkpoint !== undefined) {
    const c = opts.checkpoint;
    if (typeof c !== 'object' || c === null || typeof c.save !== 'function') {
      throw new TypeError(`${where}: checkpoint must be { every?, save(checkpoint) }, got ${describe(c)}`);
    }
    checkKeys(`${where}: checkpoint`, c, ['every', 'save']);
    checkpointEvery = checkInt(where, 'checkpoint.every', c.every ?? 1, 1);
  }
  return {
    epochs: checkInt(where, 'epochs', opts.epochs ?? 1, 0),
    batchSize: checkBatch(where, opts.batchSize, 32),
    accumulate: checkInt(where, 'accumulate', opts.accumulate ?? 1, 1),
    shuffle: checkBool(where, 'shuffle', opts.shuffle ?? true),
    seed: checkInt(where, 'seed', opts.seed ?? 0, 0, 0xffffffff),
    clip: checkClip(where, opts),
    telemetry: checkBool(where, 'telemetry', opts.telemetry ?? false),
    val,
    cb,
    checkpointEvery,
  };
}

/** Checks a checkpoint against this model before anything is loaded from it. */
function checkResume(where: string, model: Sequential, c: Checkpoint, epochs: number): void {
  checkCheckpointShape(`${where}: resume`, c);
  const mine = model.toJSON({ weights: false });
  if (JSON.stringify([c.model.inputShape, c.model.layers]) !== JSON.stringify([mine.inputShape, mine.layers])) {
    throw new RangeError(`${where}: resume: the checkpoint's model (input [${c.model.inputShape.join(', ')}], ${c.model.layers.length} layers) is not this model's architecture`);
  }
  // Every parameter present, then what setWeights itself checks (names, lengths, finite values): the load
  // below must not fail after the optimizer has been restored.
  for (const { name } of model.parameterShapes()) {
    if (c.model.weights![name] === undefined) throw new RangeError(`${where}: resume: the checkpoint has no weight '${name}'`);
  }
  model._checkWeights(`${where}: resume`, c.model.weights!);
  if (c.epoch > epochs) throw new RangeError(`${where}: resume: the checkpoint is at epoch ${c.epoch}, beyond epochs ${epochs}`);
}

export async function train(model: Sequential, x: Float32Array, y: ArrayLike<number>, n: number, opts: FitOptions): Promise<History> {
  const where = 'fit';
  const r = resolve(where, model, opts);
  const { params, grads } = model._buffers;
  if (opts.resume !== undefined) checkResume(where, model, opts.resume, r.epochs);

  // Everything below is built fresh for this call and disposed in `finally`, except a caller's Optimizer.
  let optimizer: Optimizer;
  let owned = false;
  if (opts.optimizer instanceof Optimizer) {
    optimizer = opts.optimizer;
    if (optimizer.size !== params.length) {
      throw new RangeError(`${where}: the optimizer was built for ${optimizer.size} parameters, this model's buffer has ${params.length} (use engine.optimizer(cfg, model))`);
    }
  } else {
    optimizer = model.engine.optimizer(opts.optimizer ?? 'adam', model);
    owned = true;
  }
  const temps: { dispose(): void }[] = [];
  try {
    const schedule: Schedule | null = opts.schedule === undefined ? null : createSchedule(opts.schedule, optimizer.lr);
    const perBatch = schedule !== null && (schedule.config.every ?? (schedule.config.type === 'oneCycle' ? 'batch' : 'epoch')) === 'batch';
    const stopper = opts.earlyStopping === undefined ? null : new EarlyStopping(opts.earlyStopping);
    if (stopper && stopper.monitor !== 'loss' && r.val === undefined) {
      throw new TypeError(`${where}: earlyStopping monitors '${stopper.monitor}', which needs validationData`);
    }
    if (schedule?.config.type === 'reduceOnPlateau' && perBatch) {
      throw new TypeError(`${where}: a reduceOnPlateau schedule steps on an epoch metric; every: 'batch' is not supported for it`);
    }
    let bestWeights: Record<string, Float32Array> | undefined;
    let startEpoch = 0;
    const c = opts.resume;
    if (c !== undefined) {
      // Fresh objects first (a bad state throws before the model or optimizer changes), then the optimizer
      // (validates before writing), then the weights (checked above).
      if (c.schedule !== undefined) {
        if (!schedule) throw new TypeError(`${where}: resume: the checkpoint has a schedule state, but no schedule was given`);
        schedule.loadState(c.schedule);
      }
      if (c.earlyStopping !== undefined && stopper) stopper.loadState(c.earlyStopping);
      optimizer.loadState(c.optimizer);
      model.setWeights(c.model.weights!); // cannot throw: checked in full by checkResume
      bestWeights = c.bestWeights;
      startEpoch = c.epoch;
    }
    const delta: F32Buffer | null = r.telemetry ? model.engine.alloc(params.length, 'telemetry update') : null;
    if (delta) temps.push(delta);
    const telemetry = r.telemetry ? new Telemetry(model.engine, model._paramLayout()) : null;
    if (telemetry) temps.push(telemetry);

    const { batchSize, accumulate } = r;
    const stepSize = batchSize * accumulate;
    model._reserve(Math.min(batchSize, n));
    const rng = new Rng(r.seed);
    // The shuffling of the epochs before a resumed one, replayed so that the order continues as it would have.
    if (r.shuffle) for (let e = 0; e < startEpoch; e++) rng.permutation(n);
    const steps = Math.ceil(n / stepSize);
    const history: History = { epochs: [] };
    for (let epoch = startEpoch; epoch < r.epochs; epoch++) {
      const t0 = performance.now();
      const order = r.shuffle ? rng.permutation(n) : null;
      if (schedule && !perBatch) optimizer.lr = schedule.lr();
      let lossSum = 0;
      for (let s = 0; s < steps; s++) {
        if (schedule && perBatch) optimizer.lr = schedule.lr();
        const from = s * stepSize;
        const total = Math.min(stepSize, n - from);
        let stepLoss = 0;
        for (let m = 0; m * batchSize < total; m++) {
          const at = from + m * batchSize;
          const size = Math.min(batchSize, total - m * batchSize);
          gather(model, x, y, order, at, size);
          model._forward(size);
          const loss = model._loss(size, size / total);
          if (!Number.isFinite(loss)) {
            throw new RangeError(
              `${where}: the loss became ${loss} at epoch ${epoch}, step ${s}; the weights are those from before this step. ` +
                'Lower the learning rate or check the inputs\' scale.',
            );
          }
          model._backward(size, m > 0);
          stepLoss += loss * size;
        }
        const gradNorm = clipGradients(model.engine, grads, r.clip);
        const lr = optimizer.lr;
        optimizer.step(params, grads, delta);
        if (perBatch) schedule!.step();
        lossSum += stepLoss;
        if (r.cb.onBatchEnd) {
          const info: BatchInfo = { epoch, batch: s, batches: steps, size: total, loss: stepLoss / total, lr };
          if (r.clip.clipNorm !== null) info.gradNorm = gradNorm;
          if (telemetry) info.telemetry = telemetry.read(grads, params, delta!);
          await r.cb.onBatchEnd(info);
        }
      }
      const info: EpochInfo = { epoch, epochs: r.epochs, loss: lossSum / n, seconds: (performance.now() - t0) / 1000, lr: optimizer.lr };
      if (r.val) {
        const v = await evaluate(model, r.val.x, r.val.y, { batchSize });
        info.valLoss = v.loss;
        info.valAccuracy = v.accuracy;
      }
      if (schedule && !perBatch) schedule.step(schedule.config.type === 'reduceOnPlateau' ? (info.valLoss ?? info.loss) : undefined);
      let stop = false;
      if (stopper) {
        const value = stopper.monitor === 'loss' ? info.loss : stopper.monitor === 'valLoss' ? info.valLoss! : info.valAccuracy!;
        const verdict = stopper.update(value, epoch);
        if (verdict === 'improved' && stopper.restoreBest) bestWeights = model.getWeights();
        stop = verdict === 'stop';
      }
      history.epochs.push(info);
      const last = stop || epoch === r.epochs - 1;
      if (opts.checkpoint && ((epoch + 1) % r.checkpointEvery === 0 || last)) {
        const ck: Checkpoint = {
          format: 'wasmcnn.checkpoint',
          version: 1,
          epoch: epoch + 1,
          model: model.toJSON(),
          optimizer: optimizer.saveState(),
        };
        if (schedule) ck.schedule = schedule.saveState();
        if (stopper) ck.earlyStopping = stopper.saveState();
        if (bestWeights) ck.bestWeights = bestWeights;
        await opts.checkpoint.save(ck);
      }
      if (r.cb.onEpochEnd) await r.cb.onEpochEnd(info);
      if (stop) {
        history.stoppedEarly = true;
        break;
      }
    }
    if (stopper) {
      history.bestEpoch = stopper.bestEpoch;
      if (stopper.restoreBest && bestWeights) model.setWeights(bestWeights);
    }
    return history;
  } finally {
    for (const t of temps) t.dispose();
    if (owned) optimizer.dispose();
  }
}
