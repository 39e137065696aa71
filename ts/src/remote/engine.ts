// The async engine API: `spawn()` puts the Engine in a dedicated worker where the calling thread may not block
// (a page's main thread: the threaded build's caller waits for its pool), or in the calling thread elsewhere.
// Both placements expose the same promise-returning methods, so code written against it runs in both.
import { describe } from '../errors.js';
import type { EngineInfo } from '../runtime/engine.js';
import { canBlock } from '../runtime/features.js';
import type { InitOptions } from '../runtime/load.js';
import type { Platform } from '../runtime/platform.js';
import type { ModelJSON, SummaryRow } from '../nn/model.js';
import type { ModelSpec } from '../nn/model-spec.js';
import { Optimizer } from '../optim/optimizer.js';
import type { OptimizerConfig, OptimizerName, OptimizerState } from '../optim/index.js';
import type { EvalResult, EvaluateOptions, FitOptions, History, PredictOptions } from '../train/fit.js';
import type { LrFindOptions, LrFindResult } from '../train/lr-find.js';
import type { LoadWeightsOptions, LoadWeightsReport, WeightsSource } from '../nn/weights-io.js';
import type { LastStep } from '../optim/optimizer.js';
import { FIT_CALLBACKS, type WireFitOptions } from './dispatcher.js';
import type { ModelHandleInfo, OptimizerHandleInfo } from './protocol.js';
import { LocalTransport, WorkerTransport, type Transport } from './transport.js';

export interface SpawnOptions extends InitOptions {
  /**
   * Where the engine lives: 'worker' (a dedicated worker), 'local' (this thread), or 'auto' (default): a
   * worker when this thread may not block (a browser page's main thread), else this thread.
   */
  where?: 'auto' | 'worker' | 'local';
}

/** spawn() on a platform (each package entry passes its own). */
export async function spawnOn(platform: Platform, opts: SpawnOptions = {}): Promise<RemoteEngine> {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`spawn: options must be an object, got ${describe(opts)}`);
  const { where = 'auto', ...initOpts } = opts;
  if (!['auto', 'worker', 'local'].includes(where)) {
    throw new RangeError(`spawn: where must be 'auto', 'worker' or 'local', got ${describe(where)}`);
  }
  const inWorker = where === 'worker' || (where === 'auto' && !canBlock());
  const transport = inWorker ? await WorkerTransport.start(platform) : new LocalTransport(platform);
  // A URL object does not survive postMessage; its string does.
  const wire: InitOptions = initOpts.wasm instanceof URL ? { ...initOpts, wasm: initOpts.wasm.href } : initOpts;
  try {
    const info = (await transport.call('init', undefined, [wire])) as EngineInfo;
    return new RemoteEngine(transport, info, inWorker ? 'worker' : 'local');
  } catch (e) {
    await transport.close();
    throw e;
  }
}

/** FitOptions for a remote model: the optimizer is a config, a name, or a handle from `engine.optimizer()`. */
export type RemoteFitOptions = Omit<FitOptions, 'optimizer'> & { optimizer?: OptimizerConfig | OptimizerName | RemoteOptimizer };

export class RemoteEngine {
  readonly #t: Transport;
  readonly #info: EngineInfo;
  /** Where the engine runs: a dedicated worker, or this thread. */
  readonly where: 'worker' | 'local';

  /** @internal Made by spawn(). */
  constructor(t: Transport, info: EngineInfo, where: 'worker' | 'local') {
    this.#t = t;
    this.#info = info;
    this.where = where;
  }

  /** The build, threads and SIMD features in use, and why (as `Engine.info()`). */
  info(): EngineInfo {
    return { ...this.#info };
  }

  /** A model with seeded initial weights (as `Engine.model`). */
  async model(spec: ModelSpec): Promise<RemoteModel> {
    return this.sequential(spec);
  }

  /** The same as `model(spec)`. */
  async sequential(spec: ModelSpec): Promise<RemoteModel> {
    return new RemoteModel(this.#t, (await this.#t.call('sequential', undefined, [spec])) as ModelHandleInfo);
  }

  /** Rebuilds a model saved with `toJSON()`. */
  async modelFromJSON(json: ModelJSON): Promise<RemoteModel> {
    return new RemoteModel(this.#t, (await this.#t.call('modelFromJSON', undefined, [json])) as ModelHandleInfo);
  }

  /** An optimizer for a model's parameters, whose state lasts across `fit` calls (pass it as `optimizer`). */
  async optimizer(cfg: OptimizerConfig | OptimizerName, target: RemoteModel | number): Promise<RemoteOptimizer> {
    const t = target instanceof RemoteModel ? { model: target._id } : target;
    return new RemoteOptimizer(this.#t, (await this.#t.call('optimizer', undefined, [cfg, t])) as OptimizerHandleInfo);
  }

  /** Bytes held in wasm memory by live models and optimizers. */
  async liveBytes(): Promise<number> {
    return (await this.#t.call('liveBytes', undefined, [])) as number;
  }

  /**
   * Ends the engine, its worker (if any) and its thread pool; everything made by it is unusable afterwards.
   * Every pending call rejects at once. An idle worker gets a second to end its thread pool itself; a busy or
   * unresponsive one is killed.
   */
  async terminate(): Promise<void> {
    await this.#t.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }
}

export class RemoteModel {
  readonly classes: number;
  /** Values per input sample. */
  readonly sampleSize: number;
  readonly numParams: number;
  readonly inputShape: readonly number[];
  readonly #t: Transport;
  readonly #info: ModelHandleInfo;

  /** @internal */
  constructor(t: Transport, info: ModelHandleInfo) {
    this.#t = t;
    this.#info = info;
    this.classes = info.classes;
    this.sampleSize = info.sampleSize;
    this.numParams = info.numParams;
    this.inputShape = info.inputShape;
  }

  /** @internal */
  get _id(): number {
    return this.#info.id;
  }

  #call(op: string, ...args: unknown[]): Promise<unknown> {
    return this.#t.call(op, this.#info.id, args);
  }

  parameterShapes(): { name: string; shape: number[] }[] {
    return this.#info.parameterShapes.map((p) => ({ name: p.name, shape: [...p.shape] }));
  }

  /** Trains on (x, y) as `Model.fit`; callbacks run in this thread, each before the next batch starts. */
  async fit(x: Float32Array, y: ArrayLike<number>, opts: RemoteFitOptions = {}): Promise<History> {
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`fit: options must be an object, got ${describe(opts)}`);
    const { callbacks, optimizer, checkpoint, ...rest } = opts;
    const wire: WireFitOptions = { ...rest };
    if (checkpoint !== undefined) {
      if (typeof checkpoint !== 'object' || checkpoint === null || typeof checkpoint.save !== 'function') {
        throw new TypeError(`fit: checkpoint must be { every?, save(checkpoint) }, got ${describe(checkpoint)}`);
      }
      wire.checkpoint = { every: checkpoint.every };
    }
    if (optimizer instanceof RemoteOptimizer) wire.optimizer = { optimizerHandle: optimizer._id };
    else if (optimizer instanceof Optimizer) {
      throw new TypeError('fit: a remote model takes an optimizer config, a name, or a handle from remoteEngine.optimizer(), not a local Optimizer');
    } else if (optimizer !== undefined) wire.optimizer = optimizer;
    if (callbacks !== undefined) {
      if (typeof callbacks !== 'object' || callbacks === null) throw new TypeError(`fit: callbacks must be an object, got ${describe(callbacks)}`);
      wire.callbacks = Object.fromEntries(FIT_CALLBACKS.map((k) => [k, typeof callbacks[k] === 'function']));
    }
    const caller = { ...callbacks, onCheckpoint: checkpoint?.save as ((c: unknown) => void | Promise<void>) | undefined };
    return (await this.#t.call('fit', this.#info.id, [x, y, wire], { callbacks: caller })) as History;
  }

  async evaluate(x: Float32Array, y: ArrayLike<number>, opts?: EvaluateOptions): Promise<EvalResult> {
    return (await this.#call('evaluate', x, y, opts)) as EvalResult;
  }

  async predict(x: Float32Array, opts?: PredictOptions): Promise<Float32Array> {
    return (await this.#call('predict', x, opts)) as Float32Array;
  }

  /** As `Model.loadWeights`: safetensors bytes, a Blob or a Response (read here, sent as bytes). */
  async loadWeights(source: WeightsSource, opts?: LoadWeightsOptions): Promise<LoadWeightsReport> {
    const bytes = source instanceof Blob ? await source.arrayBuffer() : typeof Response !== 'undefined' && source instanceof Response ? await source.arrayBuffer() : source;
    return (await this.#call('loadWeights', bytes, opts)) as LoadWeightsReport;
  }

  /** As `Model.saveWeights`: the state_dict as safetensors bytes. */
  async saveWeights(metadata?: Record<string, string>): Promise<Uint8Array> {
    return (await this.#call('saveWeights', metadata)) as Uint8Array;
  }

  /** As `Model.lrFind` (the optimizer a config, a name or a RemoteOptimizer). */
  async lrFind(x: Float32Array, y: ArrayLike<number>, opts: Omit<LrFindOptions, 'optimizer'> & { optimizer?: OptimizerConfig | OptimizerName | RemoteOptimizer } = {}): Promise<LrFindResult> {
    const { optimizer, ...rest } = opts;
    const wire = optimizer instanceof RemoteOptimizer ? { ...rest, optimizer: { optimizerHandle: optimizer._id } } : opts;
    return (await this.#call('lrFind', x, y, wire)) as LrFindResult;
  }

  /** Training mode (as `Model.train()`). */
  async train(): Promise<void> {
    await this.#call('train');
  }

  /** Evaluation mode (as `Model.eval()`). */
  async eval(): Promise<void> {
    await this.#call('eval');
  }

  async getWeights(): Promise<Record<string, Float32Array>> {
    return (await this.#call('getWeights')) as Record<string, Float32Array>;
  }

  async setWeights(weights: Record<string, ArrayLike<number>>, opts?: { strict?: boolean }): Promise<void> {
    await this.#call('setWeights', weights, opts);
  }

  async toJSON(opts?: { weights?: boolean }): Promise<ModelJSON> {
    return (await this.#call('toJSON', opts)) as ModelJSON;
  }

  async summary(): Promise<string> {
    return (await this.#call('summary')) as string;
  }

  async summaryRows(): Promise<SummaryRow[]> {
    return (await this.#call('summaryRows')) as SummaryRow[];
  }

  async lossAndGradients(x: Float32Array, y: ArrayLike<number>): Promise<{ loss: number; gradients: Record<string, Float32Array> }> {
    return (await this.#call('lossAndGradients', x, y)) as { loss: number; gradients: Record<string, Float32Array> };
  }

  async dispose(): Promise<void> {
    await this.#call('dispose');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

export class RemoteOptimizer {
  readonly name: string;
  readonly size: number;
  readonly #t: Transport;
  readonly #id: number;

  /** @internal */
  constructor(t: Transport, info: OptimizerHandleInfo) {
    this.#t = t;
    this.#id = info.id;
    this.name = info.name;
    this.size = info.size;
  }

  /** @internal */
  get _id(): number {
    return this.#id;
  }

  /** Copies of the state slots by name. */
  async state(): Promise<Record<string, Float32Array>> {
    return (await this.#t.call('state', this.#id, [])) as Record<string, Float32Array>;
  }

  async config(): Promise<Record<string, unknown>> {
    return (await this.#t.call('config', this.#id, [])) as Record<string, unknown>;
  }

  /** Completed steps. */
  async steps(): Promise<number> {
    return (await this.#t.call('steps', this.#id, [])) as number;
  }

  /** Sets the learning rate of the next steps. */
  async setLr(lr: number): Promise<void> {
    await this.#t.call('setLr', this.#id, [lr]);
  }

  /** Moments, step count and rate, as `Optimizer.saveState()`. */
  async saveState(): Promise<OptimizerState> {
    return (await this.#t.call('saveState', this.#id, [])) as OptimizerState;
  }

  /** torch.optim's state_dict as safetensors bytes, as `Optimizer.saveTorchState()`. */
  async saveTorchState(): Promise<Uint8Array> {
    return (await this.#t.call('saveTorchState', this.#id, [])) as Uint8Array;
  }

  /** As `Optimizer.loadTorchState(bytes)`. */
  async loadTorchState(bytes: ArrayBuffer | ArrayBufferView): Promise<void> {
    await this.#t.call('loadTorchState', this.#id, [bytes]);
  }

  /** The last step's effective rates, trust ratios and switches, as `Optimizer.lastStep()`. */
  async lastStep(): Promise<LastStep> {
    return (await this.#t.call('lastStep', this.#id, [])) as LastStep;
  }

  /** Restores a saved state (checked in full before anything changes), as `Optimizer.loadState()`. */
  async loadState(s: OptimizerState): Promise<void> {
    await this.#t.call('loadState', this.#id, [s]);
  }

  async dispose(): Promise<void> {
    await this.#t.call('dispose', this.#id, []);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
