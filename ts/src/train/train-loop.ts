// The training loop behind `fit`: options resolved and validated up front (nothing changes before that),
// then per step: gather → forward → loss → backward (summed over micro-batches) → clip → optimizer step →
// telemetry → callbacks; per epoch: validation, schedule, early stopping, checkpoint.
import { checkBool, checkInt, checkKeys, describe } from '../errors.js';
import type { OptimizerConfig, OptimizerName } from '../optim/index.js';
import { Optimizer } from '../optim/optimizer.js';
import { ScheduleFree } from '../optim/schedulefree.js';
import { Rng } from '../nn/rng.js';
import type { Model } from '../nn/model.js';
import type { Plan } from '../nn/plan.js';
import type { F32Buffer } from '../runtime/memory.js';
import { checkCheckpointShape, type Checkpoint } from './checkpoint.js';
import { EarlyStopping } from './early-stopping.js';
import { DivergenceMonitor, resolveDivergence } from './divergence.js';
import { forwardBackward, type StepData } from './step.js';
import type { Loss } from './loss.js';
import { checkBatch, checkXY, evaluate, type BatchInfo, type EpochInfo, type FitOptions, type History, type TrainingWarning } from './fit.js';
import { checkClip, clipGradients, type Clip } from './grad-tools.js';
import { createSchedule, type Schedule } from './schedules.js';
import { checkPolicy, describeNonFinite, StepGuard, type NonFiniteEvent, type NonFinitePolicy } from './non-finite.js';
import { Advisor } from './advisor.js';
import { checkSwitchState, epochEnd, initialState, resolveSwitch, type ResolvedPolicy, type SwitchEvent } from './switch.js';
import { Telemetry } from './telemetry.js';

/** The advisor's dead-ReLU fractions are measured every this many steps (a pass over the ReLU outputs). */
const ADVISOR_RELU_EVERY = 10;

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
  switch: ResolvedPolicy | null;
  advisor: Advisor | null;
}

function resolve(where: string, model: Model, opts: FitOptions, loss: Loss): Resolved {
  const cb = opts.callbacks === undefined ? {} : opts.callbacks;
  if (typeof cb !== 'object' || cb === null) throw new TypeError(`${where}: callbacks must be an object, got ${describe(cb)}`);
  const CALLBACKS = ['onBatchEnd', 'onEpochEnd', 'onWarning', 'onSwitch', 'onFinding'] as const;
  checkKeys(`${where}: callbacks`, cb, CALLBACKS);
  for (const k of CALLBACKS) {
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
    switch: resolveSwitch(where, opts.switch, val !== undefined),
    advisor: opts.advisor === undefined || opts.advisor === false ? null : new Advisor(opts.advisor === true ? undefined : opts.advisor),
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
  const d = c.model.dropoutCounter;
  if (d !== undefined && !(Number.isSafeInteger(d) && d >= 0)) throw new RangeError(`${where}: resume: model.dropoutCounter must be a non-negative integer, got ${String(d)}`);
}

/**
 * The optimizer of a fit: the caller's (kept), one from a config (owned by this call), or, when resuming
 * without one, the checkpoint's own config.
 */
function makeOptimizer(where: string, model: Model, opts: FitOptions, policy: ResolvedPolicy | null): { optimizer: Optimizer; owned: boolean } {
  const size = model._buffers.params.length;
  // After a switch the checkpoint's optimizer is the one to continue with, whatever fit was given.
  const switched = opts.resume?.switch?.rules?.some((r) => r.fired) ?? false;
  if (opts.optimizer instanceof Optimizer && !switched) {
    const o = opts.optimizer;
    if (o.disposed) throw new TypeError(`${where}: the optimizer was disposed`);
    if (o.size !== size) {
      throw new RangeError(`${where}: the optimizer was built for ${o.size} parameters, this model's buffer has ${size} (use engine.optimizer(cfg, model))`);
    }
    if (policy?.type === 'swats' && o.type !== 'swats') throw new TypeError(`${where}: switch 'swats' trains with a SWATS optimizer; this one is ${o.name}`);
    return { optimizer: o, owned: false };
  }
  let cfg: OptimizerConfig | OptimizerName = (switched ? undefined : (opts.optimizer as OptimizerConfig | OptimizerName | undefined)) ?? opts.resume?.optimizer?.config ?? 'adam';
  if (policy?.type === 'swats') cfg = swatsConfig(where, cfg);
  return { optimizer: model.engine.optimizer(cfg, model), owned: true };
}

/** SWATS with an Adam config's options (lr, betas, eps, weightDecay, amsgrad), for `switch: 'swats'`. */
function swatsConfig(where: string, cfg: OptimizerConfig | OptimizerName): OptimizerConfig {
  const c = (typeof cfg === 'string' ? { type: cfg } : cfg) as Record<string, unknown>;
  if (c.type === 'swats') return c as unknown as OptimizerConfig;
  if (c.type !== 'adam') throw new TypeError(`${where}: switch 'swats' starts from Adam; the optimizer is ${describe(c.type)}`);
  const { type: _, epsMode, preset, paramGroups, ...rest } = c;
  if (epsMode !== undefined && epsMode !== 'outside') throw new TypeError(`${where}: switch 'swats' takes PyTorch's ε placement, not epsMode ${describe(epsMode)}`);
  if (preset !== undefined && preset !== 'pytorch') throw new TypeError(`${where}: switch 'swats' takes no preset ${describe(preset)}`);
  const known = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'];
  for (const k of Object.keys(rest)) if (!known.includes(k)) throw new TypeError(`${where}: switch 'swats' cannot carry Adam's option '${k}'`);
  return { type: 'swats', ...rest, ...(paramGroups !== undefined ? { paramGroups } : {}) } as OptimizerConfig;
}

export async function train(model: Model, x: Float32Array, y: ArrayLike<number>, n: number, opts: FitOptions, loss: Loss): Promise<History> {
  const where = 'fit';
  const r = resolve(where, model, opts, loss);
  const { params, grads } = model._buffers;
  const c = opts.resume;
  if (c !== undefined) checkResume(where, model, c, r.epochs);

  // Everything below is built fresh for this call and disposed in `finally`, except a caller's Optimizer.
  let { optimizer, owned } = makeOptimizer(where, model, opts, r.switch);
  const temps: { dispose(): void }[] = [];
  try {
    const switched = c?.switch?.rules?.some((x) => x.fired) ?? false;
    const scheduleCfg = switched ? c?.schedule?.config : (opts.schedule ?? c?.schedule?.config);
    let schedule: Schedule | null = scheduleCfg === undefined ? null : createSchedule(scheduleCfg, c?.schedule?.baseLr ?? optimizer.lr);
    const everyBatch = (sc: Schedule | null) => sc !== null && (sc.config.every ?? (sc.config.type === 'oneCycle' ? 'batch' : 'epoch')) === 'batch';
    let perBatch = everyBatch(schedule);
    const rules = r.switch?.type === 'rules' ? r.switch : null;
    let switchState = rules ? initialState(rules) : null;
    const stopper = opts.earlyStopping === undefined ? null : new EarlyStopping(opts.earlyStopping);
    if (stopper && stopper.monitor !== 'loss' && r.val === undefined) {
      throw new TypeError(`${where}: earlyStopping monitors '${stopper.monitor}', which needs validationData`);
    }
    if (schedule?.config.type === 'reduceOnPlateau' && perBatch) {
      throw new TypeError(`${where}: a reduceOnPlateau schedule steps on an epoch metric; every: 'batch' is not supported for it`);
    }
    let bestWeights: Record<string, Float32Array> | undefined;
    let startEpoch = 0;
    let globalStep = 0;
    if (c !== undefined) {
      // Every part is checked before any is restored (the weights were checked by checkResume).
      if (c.schedule !== undefined) schedule!.checkState(c.schedule);
      if (c.earlyStopping !== undefined && stopper) stopper.checkState(c.earlyStopping);
      optimizer._checkState(c.optimizer, `${where}: resume: optimizer`);
      if (c.switch !== undefined && rules) switchState = checkSwitchState(`${where}: resume`, rules, c.switch);
      if (c.schedule !== undefined) schedule!.loadState(c.schedule);
      if (c.earlyStopping !== undefined && stopper) stopper.loadState(c.earlyStopping);
      optimizer._restoreState(c.optimizer);
      model.setWeights(c.model.weights!);
      // Dropout's masks continue from the checkpoint's count of training forwards.
      model._dropoutCounter = c.model.dropoutCounter ?? 0;
      bestWeights = c.bestWeights;
      startEpoch = c.epoch;
      globalStep = c.steps ?? 0;
    }
    const delta: F32Buffer | null = r.telemetry || r.advisor ? model.engine.alloc(params.length, 'telemetry update') : null;
    if (delta) temps.push(delta);
    // The advisor reads the per-layer telemetry every step (BatchInfo carries it only with `telemetry: true`).
    const telemetry = r.telemetry || r.advisor ? new Telemetry(model.engine, model._paramLayout()) : null;
    if (telemetry) temps.push(telemetry);
    if (optimizer instanceof ScheduleFree) optimizer.train(params);
    let guard = new StepGuard(model, optimizer);
    const divergence = r.divergence ? new DivergenceMonitor(r.divergence) : null;

    const { batchSize, accumulate } = r;
    const stepSize = batchSize * accumulate;
    const plan: Plan = model._plan('train', Math.min(batchSize, n));
    const rng = new Rng(r.seed);
    // The shuffling of the epochs before a resumed one, replayed so that the order continues as it would have.
    if (r.shuffle) for (let e = 0; e < startEpoch; e++) rng.permutation(n);
    const steps = Math.ceil(n / stepSize);
    const history: History = { epochs: [], warnings: [], switches: [], findings: [] };
    const recordSwitch = async (e: SwitchEvent) => {
      history.switches.push(e);
      if (r.cb.onSwitch) await r.cb.onSwitch(e);
      alive(model, 'onSwitch');
    };
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
      const data: StepData = { x, y, n, per: model.sampleSize, order };
      if (schedule && !perBatch) optimizer.lr = schedule.lr();
      let lossSum = 0;
      let counted = 0;
      for (let s = 0; s < steps; s++) {
        if (schedule && perBatch) optimizer.lr = schedule.lr();
        const from = s * stepSize;
        const total = Math.min(stepSize, n - from);
        let bad: Omit<NonFiniteEvent, 'message'> | null = null;
        // Before the forward passes: BatchNorm's running statistics move there, the weights in the update.
        guard.save();
        const fb = forwardBackward(plan, loss, data, from, total, batchSize);
        const stepLoss = fb.loss * total;
        if (fb.nonFinite) bad = { epoch, step: s, what: 'loss', where: fb.nonFinite.where ? [fb.nonFinite.where] : [] };
        if (bad === null) {
          const badGrads = guard.badGradients();
          if (badGrads.length) bad = { epoch, step: s, what: 'gradient', where: badGrads };
        }
        if (bad !== null) {
          // No update was applied yet; the running statistics are put back: this step does not happen.
          guard.undo();
          if (!(await nonFinite(bad, fb.nonFinite?.value))) {
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
        globalStep++;
        lossSum += stepLoss;
        counted += total;
        const stepMean = stepLoss / total;
        const w = divergence?.update(stepMean, epoch, s);
        if (w) await warn({ kind: 'divergence', ...w });
        const last = optimizer.lastStep();
        for (const sw of last.switched ?? []) {
          await recordSwitch({ epoch, step: globalStep, reason: `SWATS: the projected SGD rate of ${sw.group === null ? 'the parameters' : `group ${sw.group}`} stabilised at ${sw.rate.toExponential(3)}`, from: sw.from, to: sw.to, lr: sw.rate });
        }
        const rows = telemetry && (r.advisor || (r.telemetry && r.cb.onBatchEnd)) ? telemetry.read(grads, params, delta!, last) : undefined;
        if (r.advisor) {
          const relu = globalStep % ADVISOR_RELU_EVERY === 1 ? plan.deadFractions(Math.min(total, batchSize)) : undefined;
          for (const f of r.advisor.observe({ epoch, step: globalStep, loss: stepMean, lr, telemetry: rows, relu })) {
            history.findings.push(f);
            if (r.cb.onFinding) await r.cb.onFinding(f);
            alive(model, 'onFinding');
          }
        }
        if (r.cb.onBatchEnd) {
          const info: BatchInfo = { epoch, batch: s, batches: steps, size: total, loss: stepMean, lr };
          if (r.clip.clipNorm !== null) info.gradNorm = gradNorm;
          if (r.telemetry) info.telemetry = rows;
          await r.cb.onBatchEnd(info);
          alive(model, 'onBatchEnd');
        }
      }
      if (stop) break;
      const info: EpochInfo = { epoch, epochs: r.epochs, loss: counted > 0 ? lossSum / counted : NaN, seconds: (performance.now() - t0) / 1000, lr: optimizer.lr };
      // Schedule-Free evaluates (and early stopping keeps) its averaged weights x: swapped in for this.
      const sf = optimizer instanceof ScheduleFree ? optimizer : null;
      sf?.eval(params);
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
      // Back to y to train on; after the last epoch the model stays on x (a swap there and back would round).
      if (!(stop || epoch === r.epochs - 1)) sf?.train(params);
      history.epochs.push(info);
      const fired = rules && switchState ? epochEnd(rules, switchState, info) : null;
      if (fired) {
        const rule = rules!.rules[fired.rule];
        const from = optimizer.name;
        if (rule.to.optimizer !== undefined) {
          const next = model.engine.optimizer(rule.to.optimizer, model);
          if (owned) optimizer.dispose();
          [optimizer, owned] = [next, true];
          guard = new StepGuard(model, optimizer);
        }
        // A new schedule over the (new) optimizer's rate; given none, the old one restarts over the new rate.
        const sc = rule.to.schedule === undefined ? schedule?.config : rule.to.schedule;
        schedule = sc === undefined || sc === null ? null : createSchedule(sc, optimizer.lr);
        perBatch = everyBatch(schedule);
        await recordSwitch({ epoch, step: globalStep, reason: fired.reason, from, to: optimizer.name, lr: optimizer.lr });
      }
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
        if (switchState) ck.switch = structuredClone(switchState);
        ck.steps = globalStep;
        await opts.checkpoint.save(ck);
        alive(model, 'checkpoint.save');
      }
      if (r.cb.onEpochEnd) {
        await r.cb.onEpochEnd(info);
        alive(model, 'onEpochEnd');
      }
      if (stop && stopper) history.stoppedEarly = true;
    }
    // The model leaves fit with the weights to evaluate and predict with: Schedule-Free's x (the optimizer
    // swaps back to y at the start of its next fit).
    if (optimizer instanceof ScheduleFree) optimizer.eval(params);
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
