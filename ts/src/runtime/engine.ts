// The engine: one instantiated wasm module, its heap, and the factories for everything that lives in it.
import { checkInt, describe } from '../errors.js';
import type { WasmExports } from './exports.js';
import { guardExports, Health } from './guard.js';
import { Heap, MAX_BUFFER_BYTES, Scope, WasmBuffer, type F32Buffer, type U32Buffer } from './memory.js';
import type { BuildName, Loaded } from './load.js';
import type { WorkerPool } from './workers-node.js';
import { Model, type ModelJSON } from '../nn/model.js';
import type { ModelSpec } from '../nn/model-spec.js';
import { createOptimizer, type OptimizerConfig, type OptimizerName } from '../optim/index.js';
import type { Optimizer } from '../optim/optimizer.js';

export interface EngineInfo {
  /** Which wasm build runs. */
  build: BuildName;
  /** Worker threads in use (1: the calling thread only). */
  threads: number;
  simd: boolean;
  /** The relaxed-SIMD build: GEMM-based kernels use fused multiply-adds (last bits differ). */
  relaxedSimd: boolean;
  /** Why this build was chosen. */
  reason: string;
}

export class Engine {
  readonly heap: Heap;
  readonly #info: EngineInfo;
  readonly #exports: WasmExports;
  readonly #pool: WorkerPool | null;
  #terminated = false;

  constructor(loaded: Loaded) {
    const health = new Health();
    this.#exports = guardExports(loaded.exports, health);
    this.#pool = loaded.pool;
    this.heap = new Heap(this.#exports, MAX_BUFFER_BYTES, health);
    // A poisoned engine's workers may be stuck or dead: end them (the engine refuses use from then on).
    health.onPoison(() => void this.terminate().catch(() => {}));
    this.#info = {
      build: loaded.build,
      threads: loaded.threads,
      simd: loaded.exports.wcnn_simd128() === 1,
      relaxedSimd: loaded.exports.wcnn_relaxed_simd() === 1,
      reason: loaded.reason,
    };
  }

  /**
   * The wasm exports, each guarded: refused after `terminate()` (a kernel would wait forever for its pool)
   * and after a trap (EngineTrapError: the heap can no longer be trusted).
   */
  get exports(): WasmExports {
    this.heap.health.check();
    if (this.#terminated) throw new Error('wasmcnn: this engine was terminated and cannot be used');
    return this.#exports;
  }

  /** True once a kernel trapped: every use throws EngineTrapError (create a new engine). */
  get poisoned(): boolean {
    return this.heap.health.poisoned;
  }

  /** @internal Poisons the engine from outside a trap (a kernel that reported a dead worker thread). */
  _poison(where: string, cause: string): Error {
    return this.heap.health.poison(where, cause);
  }

  /**
   * Ends the worker threads (the threaded build); the engine and everything in it is unusable afterwards.
   * A Node process exits on its own after this (workers are also unref'd, so it need not be called at exit).
   */
  async terminate(): Promise<void> {
    if (this.#terminated) return;
    this.#terminated = true;
    this.heap.health.end();
    await this.#pool?.terminate();
  }

  /** `terminate()` without waiting: for `using engine = await init()`. */
  dispose(): void {
    void this.terminate();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  info(): EngineInfo {
    return { ...this.#info };
  }

  /**
   * A zeroed f32 buffer of `length` elements in wasm memory, owned by the caller (dispose it). A length
   * beyond what one buffer of this build can hold is a RangeError naming the size and the limit.
   */
  alloc(length: number, what = 'buffer'): F32Buffer {
    this.#checkLength('alloc', length);
    return new WasmBuffer(this.heap, 'f32', length, what);
  }

  allocU32(length: number, what = 'buffer'): U32Buffer {
    this.#checkLength('allocU32', length);
    return new WasmBuffer(this.heap, 'u32', length, what);
  }

  #checkLength(where: string, length: number): void {
    checkInt(where, 'length', length, 0);
    this.heap.checkElements(where, 'the buffer', length);
  }

  /** Copies `data` (finite float32 values) into a new wasm buffer owned by the caller. */
  tensor(data: ArrayLike<number>, what = 'tensor'): F32Buffer {
    if (data === null || typeof data !== 'object' || typeof (data as { length?: unknown }).length !== 'number') {
      throw new TypeError(`tensor: data must be an array or typed array of numbers, got ${describe(data)}`);
    }
    const b = this.alloc(data.length, what);
    try {
      b.write(data);
    } catch (e) {
      b.dispose();
      throw e;
    }
    return b;
  }

  /** Runs `fn` with a scope whose temporaries are freed when it returns or throws. */
  scoped<T>(fn: (s: Scope) => T): T {
    const s = new Scope(this.heap);
    try {
      return fn(s);
    } finally {
      s.dispose();
    }
  }

  /**
   * A model from its definition (layers and containers as plain JSON, see `models.*` for the zoo), with
   * seeded initial weights; validated in full before anything is allocated.
   */
  model(spec: ModelSpec): Model {
    return new Model(this, spec);
  }

  /** The same as `model(spec)` (a list of layers is a sequential model). */
  sequential(spec: ModelSpec): Model {
    return new Model(this, spec);
  }

  /** Rebuilds a model saved with `model.toJSON()`. */
  modelFromJSON(json: ModelJSON): Model {
    return Model.fromJSON(this, json);
  }

  /**
   * An optimizer for a model's parameters (its `paramGroups` patterns match the model's tensor names), or
   * for `size` values in any F32Buffer (one tensor named 'params'; bring-your-own loop:
   * `opt.step(params, grads)` updates `params` in place and keeps its state between calls). The config is
   * validated in full before anything is allocated.
   */
  optimizer(cfg: OptimizerConfig | OptimizerName, target: Model | number): Optimizer {
    return createOptimizer(this, cfg, typeof target === 'number' ? checkInt('optimizer', 'size', target, 0) : target);
  }

  /** Bytes currently held in wasm memory by live handles (models, optimizers, buffers). */
  liveBytes(): number {
    return this.heap.liveBytes();
  }
}
