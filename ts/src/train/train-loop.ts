// The training loop behind `fit`: options resolved and validated up front (nothing changes before that),
// then per step: gather → forward → loss → backward (summed over micro-batches) → clip → optimizer step →
// telemetry → callbacks; per epoch: validation, schedule, early stopping, checkpoint.
import { checkBool, checkInt, checkKeys, describe } from '../errors.js';
import type { OptimizerConfig, OptimizerName } from '../optim/index.js';
import { Optimizer } from '../optim/optimizer.js';
import { Rng } from '../nn/rng.js';
import type { Model } from '../nn/model.js';
import type { Plan } from '../nn/plan.js';
import type { F32Buffer } from '../runtime/memory.js';
import { checkCheckpointShape, type Checkpoint } from './checkpoint.js';
import { EarlyStopping } from './early-stopping.js';
import { DivergenceMonitor, resolveDivergence } from './divergence.js';
import { gather } from './batch.js';
import type { Loss } from './loss.js';
import { checkBatch, checkXY, evaluate, type BatchInfo, type EpochInfo, type FitOptions, type History, type TrainingWarning } from './fit.js';
import { checkClip, clipGradients, type Clip } from './grad-tools.js';
import { createSchedule, type Schedule } from './schedules.js';
import { checkPolicy, describeNonFinite, StepGuard, type NonFiniteEvent, type NonFinitePolicy } from './non-finite.js';
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
  onNonFinite: NonFinitePolicy;
  divergence: ReturnType<typeof resolveDivergence>;
}

function resolve(where: string, model: Model, opts: FitOptions, loss: Loss): Resolved {
  const cb = opts.callbacks === undefined ? {} : opts.callbacks;
  if (typeof cb !== 'object' || cb === null) throw new TypeError(`${where}: callbacks must be an object, got ${describe(cb)}`);
  checkKeys(`${where}: callbacks`, cb, ['onBatchEnd', 'onEpochEnd', 'onWarning']);
  for (const k of ['onBatchEnd', 'onEpochEnd', 'onWarning'] as const) {
    if (cb[k] !== undefined && typeof cb[k] !== 'function') throw new TypeError(`${where}: callbacks.${k} must be a function, got ${describe(cb[k])}`);
  }
  const val = opts.validationData;
  if (val !== undefined) {
    if (typeof val !== 'object' || val === null) throw new TypeError(`${where}: validationData must be { x, y }, got ${describe(val)}`);
    checkKeys(`${where}: validationData`, val, ['x', 'y']);
    checkXY(`${where}: validationData`, model, val.x, val.y, loss);
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
    onNonFinite: checkPolicy(where, opts.onNonFinite),
    divergence: resolveDivergence(where, opts.divergence),
  };
}

/** Checks a checkpoint against this model before anything is loaded from it. */
function checkResume(where: string, model: Model, c: Checkpoint, epochs: number): void {
  checkCheckpointShape(`${where}: resume`, c);
  const mine = model.toJSON({ weights: false });
  if (JSON.stringify([c.model.inputShape, c.model.layers]) !== JSON.stringify([mine.inputShape, mine.layers])) {
    throw new RangeError(`${where}: resume: the checkpoint's model (input [${c.model.inputShape.join(', ')}], ${c.model.layers.length} layers) is not this model's architecture`);
  }
  // What setWeights itself checks, strictly (every tensor, lengths, finite values): nothing below may fail
  // after something was restored.
  model._checkWeights(`${where}: resume: weights`, c.model.weights!, true);
  if (c.bestWeights !== undefined) model._checkWeights(`${where}: resume: bestWeights`, c.bestWeights, true);
  if (c.epoch > epochs) throw new RangeError(`${where}: resume: the checkpoint is at epoch ${c.epoch}, beyond epochs ${epochs}`);
}

/**
 * The optimizer of a fit: the caller's (kept), one from a config (owned by this call), or, when resuming
 * without one, the checkpoint's own config.
 */
function makeOptimizer(where: string, model: Model, opts: FitOptions): { optimizer: Optimizer; owned: boolean } {
  const size = model._buffers.params.length;
  if (opts.optimizer instanceof Optimizer) {
    const o = opts.optimizer;
    if (o.disposed) throw new TypeError(`${where}: the optimizer was disposed`);
    if (o.size !== size) {
      throw new RangeError(`${where}: the optimizer was built for ${o.size} parameters, this model's buffer has ${size} (use engine.optimizer(cfg, model))`);
    }
    return { optimizer: o, owned: false };
  }
  const cfg: OptimizerConfig | OptimizerName = opts.optimizer ?? opts.resume?.optimizer?.config ?? 'adam';
  return { optimizer: model.engine.optimizer(cfg, model), owned: true };
}

export async function train(model: Model, x: Float32Array, y: ArrayLike<number>, n: number, opts: FitOptions, loss: Loss): Promise<History> {
  const where = 'fit';
  const r = resolve(where, model, opts, loss);
  const { params, grads } = model._buffers;
  const c = opts.resume;
  if (c !== undefined) checkResume(where, model, c, r.epochs);

  // Everything below is built fresh for this call and disposed in `finally`, except a caller's Optimizer.
  const { optimizer, owned } = makeOptimizer(where, model, opts);
  const temps: { dispose(): void }[] = [];
  try {
    const scheduleCfg = opts.schedule ?? c?.schedule?.config;
    const schedule: Schedule | null = scheduleCfg === undefined ? null : createSchedule(scheduleCfg, c?.schedule?.baseLr ?? optimizer.lr);
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
    if (c !== undefined) {
      // Every part is checked before any is restored (the weights were checked by checkResume).
      if (c.schedule !== undefined) schedule!.checkState(c.schedule);
      if (c.earlyStopping !== undefined && stopper) stopper.checkState(c.earlyStopping);
      optimizer._checkState(c.optimizer, `${where}: resume: optimizer`);
      if (c.schedule !== undefined) schedule!.loadState(c.schedule);
      if (c.earlyStopping !== undefined && stopper) stopper.loadState(c.earlyStopping);
      optimizer._restoreState(c.optimizer);
      model.setWeights(c.model.weights!);
      bestWeights = c.bestWeights;
      startEpoch = c.epoch;
    }
    const delta: F32Buffer | null = r.telemetry ? model.engine.alloc(params.length, 'telemetry update') : null;
    if (delta) temps.push(delta);
    const telemetry = r.telemetry ? new Telemetry(model.engine, model._paramLayout()) : null;
    if (telemetry) temps.push(telemetry);
    const guard = new StepGuard(model, optimizer);
    const divergence = r.divergence ? new DivergenceMonitor(r.divergence) : null;

    const { batchSize, accumulate } = r;
    const stepSize = batchSize * accumulate;
    const plan: Plan = model._plan('train', Math.min(batchSize, n));
    const rng = new Rng(r.seed);
    // The shuffling of the epochs before a resumed one, replayed so that the order continues as it would have.
    if (r.shuffle) for (let e = 0; e < startEpoch; e++) rng.permutation(n);
    const steps = Math.ceil(n / stepSize);
    const history: History = { epochs: [], warnings: [] };
    const warn = async (w: TrainingWarning) => {
      history.warnings.push(w);
      if (r.cb.onWarning) await r.cb.onWarning(w);
      alive(model, 'onWarning');
    };
    /** A non-finite value at this step (already undone): throws, or returns whether training goes on. */
    const nonFinite = async (e: Omit<NonFiniteEvent, 'message'>, value?: number): Promise<boolean> => {
      const ev: NonFiniteEvent = { ...e, message: describeNonFinite(e, value) };
      if (r.onNonFinite === 'throw') {
        throw new RangeError(`${where}: ${ev.message}. The model and optimizer are as before this step (onNonFinite: 'skipStep' goes on, 'restore' stops).`);
      }
      if (r.onNonFinite === 'restore') {
        history.nonFinite = ev;
        return false;
      }
      await warn({ kind: 'nonFinite', ...ev });
      return true;
    };
    let stop = false;
    for (let epoch = startEpoch; epoch < r.epochs && !stop; epoch++) {
      const t0 = performance.now();
      const order = r.shuffle ? rng.permutation(n) : null;
      if (schedule && !perBatch) optimizer.lr = schedule.lr();
      let lossSum = 0;
      let counted = 0;
      for (let s = 0; s < steps; s++) {
        if (schedule && perBatch) optimizer.lr = schedule.lr();
        const from = s * stepSize;
        const total = Math.min(stepSize, n - from);
        let stepLoss = 0;
        let bad: Omit<NonFiniteEvent, 'message'> | null = null;
        let badLoss: number | undefined;
        // Before the forward passes: BatchNorm's running statistics move there, the weights in the update.
        guard.save();
        for (let m = 0; m * batchSize < total; m++) {
          const at = from + m * batchSize;
          const size = Math.min(batchSize, total - m * batchSize);
          gather(plan, model.sampleSize, x, order, at, size);
          loss.gather(y, n, order, at, size);
          plan.forward(size, true);
          const value = loss.forward(plan.outputPtr, plan.outputGradPtr, size, size / total);
          if (!Number.isFinite(value)) {
            const first = plan.firstNonFinite(size);
            bad = { epoch, step: s, what: 'loss', where: first ? [first] : [] };
            badLoss = value;
            break;
          }
          plan.backward(size, m > 0, true);
          stepLoss += value * size;
        }
        if (bad === null) {
          const badGrads = guard.badGradients();
          if (badGrads.length) bad = { epoch, step: s, what: 'gradient', where: badGrads };
        }
        if (bad !== null) {
          // No update was applied yet; the running statistics are put back: this step does not happen.
          guard.undo();
          if (!(await nonFinite(bad, badLoss))) {
            stop = true;
            break;
          }
          continue;
        }
        const gradNorm = clipGradients(model.engine, grads, r.clip);
        const lr = optimizer.lr;
        optimizer.step(params, grads, delta);
        model._touch();
        const badWeights = guard.badWeights();
        if (badWeights.length) {
          guard.undo();
          if (!(await nonFinite({ epoch, step: s, what: 'weight', where: badWeights }))) {
            stop = true;
            break;
          }
          continue;
        }
        if (perBatch) schedule!.step();
        lossSum += stepLoss;
        counted += total;
        const stepMean = stepLoss / total;
        const w = divergence?.update(stepMean, epoch, s);
        if (w) await warn({ kind: 'divergence', ...w });
        if (r.cb.onBatchEnd) {
          const info: BatchInfo = { epoch, batch: s, batches: steps, size: total, loss: stepMean, lr };
          if (r.clip.clipNorm !== null) info.gradNorm = gradNorm;
          if (telemetry) info.telemetry = telemetry.read(grads, params, delta!);
          await r.cb.onBatchEnd(info);
          alive(model, 'onBatchEnd');
        }
      }
      if (stop) break;
      const info: EpochInfo = { epoch, epochs: r.epochs, loss: counted > 0 ? lossSum / counted : NaN, seconds: (performance.now() - t0) / 1000, lr: optimizer.lr };
      if (r.val) {
        const v = await evaluate(model, r.val.x, r.val.y, { batchSize, loss: opts.loss });
        info.valLoss = v.loss;
        info.valAccuracy = v.accuracy;
      }
      if (schedule && !perBatch) schedule.step(schedule.config.type === 'reduceOnPlateau' ? (info.valLoss ?? info.loss) : undefined);
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
        alive(model, 'checkpoint.save');
      }
      if (r.cb.onEpochEnd) {
        await r.cb.onEpochEnd(info);
        alive(model, 'onEpochEnd');
      }
      if (stop && stopper) history.stoppedEarly = true;
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

/** A callback may dispose the model; training cannot go on then (and must say so, not fail on a null buffer). */
function alive(model: Model, where: string): void {
  if (model.disposed) throw new Error(`fit: the model was disposed during training (in ${where}); training stopped`);
}
