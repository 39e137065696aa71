// The host side of a RemoteEngine: owns one Engine and the models and optimizers made through it, keyed by
// handle ids, and runs the calls that arrive as messages. It runs in a dedicated worker (a page's engine,
// so that the threaded build can block there), or in-process where the calling thread may block itself.
import { describe } from '../errors.js';
import { Engine } from '../runtime/engine.js';
import { load, type InitOptions } from '../runtime/load.js';
import type { Platform } from '../runtime/platform.js';
import type { Model } from '../nn/model.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { OptimizerState } from '../optim/index.js';
import type { EvaluateOptions, FitOptions, PredictOptions } from '../train/fit.js';
import type { LrFindOptions } from '../train/lr-find.js';
import type { LoadWeightsOptions } from '../nn/weights-io.js';
import type { CallbackEvent, ModelHandleInfo, OptimizerHandleInfo, OptimizerRef } from './protocol.js';

/** Runs a training callback on the caller's side and resolves when it has finished (or rejects with its error). */
export type EmitCallback = (name: CallbackEvent['name'], info: unknown) => Promise<void>;

const MODEL_OPS = [
  'fit', 'evaluate', 'predict', 'getWeights', 'setWeights', 'loadWeights', 'saveWeights', 'lrFind', 'train', 'eval', 'toJSON', 'summary',
  'summaryRows', 'lossAndGradients', 'dispose',
] as const;
const OPTIMIZER_OPS = ['state', 'config', 'steps', 'setLr', 'saveState', 'loadState', 'saveTorchState', 'loadTorchState', 'lastStep', 'dispose'] as const;
/** fit's callbacks, forwarded to the caller when it gave them. */
export const FIT_CALLBACKS = ['onBatchEnd', 'onEpochEnd', 'onWarning', 'onSwitch', 'onFinding'] as const;

export class Dispatcher {
  #engine: Engine | null = null;
  readonly #models = new Map<number, Model>();
  readonly #optimizers = new Map<number, Optimizer>();
  #next = 1;
  readonly #platform: Platform;

  constructor(platform: Platform) {
    this.#platform = platform;
  }

  get #e(): Engine {
    if (this.#engine === null) throw new Error('wasmcnn: the remote engine is not initialised');
    return this.#engine;
  }

  /** Runs one call; `emit` delivers fit's callbacks to the caller. */
  async handle(op: string, target: number | undefined, args: unknown[], emit: EmitCallback): Promise<unknown> {
    if (target !== undefined) {
      const model = this.#models.get(target);
      if (model) return this.#modelCall(target, model, op, args, emit);
      const opt = this.#optimizers.get(target);
      if (opt) return this.#optimizerCall(target, opt, op, args);
      throw new Error(`wasmcnn: handle ${target} was disposed (or never existed) in this engine`);
    }
    switch (op) {
      case 'init':
        if (this.#engine !== null) throw new Error('wasmcnn: the remote engine was already initialised');
        this.#engine = new Engine(await load(this.#platform, args[0] as InitOptions));
        return this.#engine.info();
      case 'sequential':
        return this.#addModel(this.#e.sequential(args[0] as Parameters<Engine['sequential']>[0]));
      case 'modelFromJSON':
        return this.#addModel(this.#e.modelFromJSON(args[0] as Parameters<Engine['modelFromJSON']>[0]));
      case 'optimizer': {
        const [cfg, target] = args as [Parameters<Engine['optimizer']>[0], { model: number } | number];
        const opt = this.#e.optimizer(cfg, typeof target === 'number' ? target : this.#model(target.model));
        const id = this.#next++;
        this.#optimizers.set(id, opt);
        return { id, name: opt.name, size: opt.size } satisfies OptimizerHandleInfo;
      }
      case 'liveBytes':
        return this.#e.liveBytes();
      case 'terminate': {
        const e = this.#engine;
        this.#engine = null;
        this.#models.clear();
        this.#optimizers.clear();
        await e?.terminate();
        return undefined;
      }
      default:
        throw new TypeError(`wasmcnn: unknown remote operation ${describe(op)}`);
    }
  }

  #model(id: unknown): Model {
    const m = typeof id === 'number' ? this.#models.get(id) : undefined;
    if (!m) throw new Error(`wasmcnn: model handle ${describe(id)} was disposed (or never existed) in this engine`);
    return m;
  }

  #addModel(m: Model): ModelHandleInfo {
    const id = this.#next++;
    this.#models.set(id, m);
    return {
      id,
      classes: m.classes,
      sampleSize: m.sampleSize,
      numParams: m.numParams,
      inputShape: [...m.inputShape],
      parameterShapes: m.parameterShapes(),
    };
  }

  async #modelCall(id: number, m: Model, op: string, args: unknown[], emit: EmitCallback): Promise<unknown> {
    switch (op as (typeof MODEL_OPS)[number]) {
      case 'fit': {
        const [x, y, wire] = args as [Float32Array, ArrayLike<number>, WireFitOptions | undefined];
        return m.fit(x, y, this.#fitOptions(wire, emit));
      }
      case 'evaluate':
        return m.evaluate(args[0] as Float32Array, args[1] as ArrayLike<number>, args[2] as EvaluateOptions);
      case 'predict':
        return m.predict(args[0] as Float32Array, args[1] as PredictOptions);
      case 'getWeights':
        return m.getWeights();
      case 'setWeights':
        return m.setWeights(args[0] as Record<string, ArrayLike<number>>, args[1] as { strict?: boolean });
      case 'loadWeights':
        return m.loadWeightsSync(args[0] as ArrayBuffer | ArrayBufferView, args[1] as LoadWeightsOptions);
      case 'saveWeights':
        return m.saveWeights(args[0] as Record<string, string> | undefined);
      case 'lrFind':
        return m.lrFind(args[0] as Float32Array, args[1] as ArrayLike<number>, this.#withOptimizer(args[2] as WireLrFindOptions | undefined) as LrFindOptions);
      case 'train':
        m.train();
        return true;
      case 'eval':
        m.eval();
        return false;
      case 'toJSON':
        return m.toJSON(args[0] as { weights?: boolean });
      case 'summary':
        return m.summary();
      case 'summaryRows':
        return m.summaryRows();
      case 'lossAndGradients':
        return m.lossAndGradients(args[0] as Float32Array, args[1] as ArrayLike<number>);
      case 'dispose':
        this.#models.delete(id);
        return m.dispose();
      default:
        throw new TypeError(`wasmcnn: models have no remote operation ${describe(op)} (known: ${MODEL_OPS.join(', ')})`);
    }
  }

  #optimizerCall(id: number, o: Optimizer, op: string, args: unknown[]): unknown {
    switch (op as (typeof OPTIMIZER_OPS)[number]) {
      case 'state':
        return o.state();
      case 'config':
        return o.config;
      case 'steps':
        return o.steps;
      case 'setLr':
        o.lr = args[0] as number;
        return undefined;
      case 'saveState':
        return o.saveState();
      case 'loadState':
        return o.loadState(args[0] as OptimizerState);
      case 'saveTorchState':
        return o.saveTorchState();
      case 'loadTorchState':
        return o.loadTorchState(args[0] as ArrayBuffer | ArrayBufferView);
      case 'lastStep':
        return o.lastStep();
      case 'dispose':
        this.#optimizers.delete(id);
        return o.dispose();
      default:
        throw new TypeError(`wasmcnn: optimizers have no remote operation ${describe(op)} (known: ${OPTIMIZER_OPS.join(', ')})`);
    }
  }

  /** Options whose `optimizer` may be a handle on the wire: the handle becomes its optimizer. */
  #withOptimizer<T extends { optimizer?: unknown }>(o: T | undefined): T | undefined {
    const h = o?.optimizer as OptimizerRef | undefined;
    if (typeof h !== 'object' || h === null || !('optimizerHandle' in h)) return o;
    const opt = this.#optimizers.get(h.optimizerHandle);
    if (!opt) throw new Error(`wasmcnn: the optimizer handle ${h.optimizerHandle} was disposed`);
    return { ...o, optimizer: opt } as T;
  }

  /** FitOptions from the wire: callbacks become calls back to the caller, an optimizer handle its optimizer. */
  #fitOptions(wire: WireFitOptions | undefined, emit: EmitCallback): FitOptions | undefined {
    if (wire === undefined || wire === null || typeof wire !== 'object') return wire;
    const { callbacks, optimizer, checkpoint, ...rest } = wire;
    const opts: FitOptions = { ...rest };
    if (checkpoint !== undefined) opts.checkpoint = { every: checkpoint.every, save: (c) => emit('onCheckpoint', c) };
    if (optimizer !== undefined) {
      if (typeof optimizer === 'object' && optimizer !== null && 'optimizerHandle' in optimizer) {
        const o = this.#optimizers.get(optimizer.optimizerHandle);
        if (!o) throw new Error(`wasmcnn: fit: the optimizer handle ${optimizer.optimizerHandle} was disposed`);
        opts.optimizer = o;
      } else {
        opts.optimizer = optimizer;
      }
    }
    if (callbacks) {
      const cbs: Record<string, (info: unknown) => Promise<void>> = {};
      for (const k of FIT_CALLBACKS) if (callbacks[k]) cbs[k] = (info) => emit(k, info);
      opts.callbacks = cbs;
    }
    return opts;
  }
}

/** FitOptions as sent: which callbacks exist (functions stay with the caller), an optimizer as config or handle. */
export type WireFitOptions = Omit<FitOptions, 'callbacks' | 'optimizer' | 'checkpoint'> & {
  callbacks?: Partial<Record<(typeof FIT_CALLBACKS)[number], boolean>>;
  /** The caller keeps `save`; checkpoints come back as 'onCheckpoint' events. */
  checkpoint?: { every?: number };
  optimizer?: Exclude<FitOptions['optimizer'], Optimizer> | OptimizerRef;
};

/** The ArrayBuffers in `v` that can move rather than be copied (owned by one typed array, not shared). */
export function transferables(v: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (ArrayBuffer.isView(v)) {
    const b = v.buffer;
    if (b instanceof ArrayBuffer && b.byteLength === v.byteLength && !out.includes(b)) out.push(b);
  } else if (v !== null && typeof v === 'object' && depth < 3) {
    for (const x of Object.values(v)) transferables(x, out, depth + 1);
  }
  return out;
}

/** lrFind's options on the wire: the optimizer as a config, a name or a handle. */
export type WireLrFindOptions = Omit<LrFindOptions, 'optimizer'> & { optimizer?: Exclude<LrFindOptions['optimizer'], Optimizer> | OptimizerRef };
