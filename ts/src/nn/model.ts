// A model: its graph (nn/graph.ts), its parameters in one flat arena with a parallel gradient arena (what an
// optimizer steps over, one fused call for all of it), its buffers (BatchNorm's running statistics) in a
// second arena that is saved but never optimized, and the execution plans (nn/plan.ts) that run it.
// The state_dict — parameters and buffers by PyTorch module path — is the unit of weights everywhere:
// getWeights/setWeights, toJSON, safetensors, checkpoints.
import { checkBool, checkFinite, checkInt, checkKeys, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';
import { compileGraph, stateEntries, type Graph, type LayerSpecJSON, type StateEntry } from './graph.js';
import { fill, INIT_SCHEMES, type InitScheme } from './init.js';
import type { ModelSpec } from './model-spec.js';
import { fmt, numel } from './ops/op.js';
import { Plan, type Mode } from './plan.js';
import { Rng } from './rng.js';
import { gather } from '../train/batch.js';
import { checkXY, evaluate, fit, predict, type EvalResult, type EvaluateOptions, type FitOptions, type History, type PredictOptions } from '../train/fit.js';
import { Loss, type LossSpec } from '../train/loss.js';
import { lrFind, type LrFindOptions, type LrFindResult } from '../train/lr-find.js';
import { loadWeights, loadWeightsSync, saveWeights, type LoadWeightsOptions, type LoadWeightsReport, type WeightsSource } from './weights-io.js';

export interface ModelJSON extends ModelSpec {
  format: 'wasmcnn.model' | 'wasmcnn.sequential';
  /** 2 (graphs); version 1 files (`wasmcnn.sequential`) load too. */
  version: 1 | 2;
  /** The state_dict (parameters and buffers by name), present when saved with weights. */
  weights?: Record<string, number[]>;
  /** Training forwards run so far (dropout's mask stream continues from it), present when nonzero. */
  dropoutCounter?: number;
}

export interface SummaryRow {
  /** The module path (`layer1.0.conv1`; a residual's add carries the block's path). */
  name: string;
  type: string;
  outputShape: number[];
  params: number;
  /** Nesting depth (dots in the path), for indenting a tree. */
  depth: number;
}

/** Parameter offsets are rounded up to 4 floats so every tensor starts 16-byte aligned for SIMD. */
const ALIGN_FLOATS = 4;
const MODEL_KEYS = ['inputShape', 'layers', 'init', 'seed'] as const;
const JSON_KEYS = [...MODEL_KEYS, 'format', 'version', 'weights', 'dropoutCounter'] as const;

/** One tensor of the state_dict and where it lives. */
interface Slot extends StateEntry {
  offset: number;
  length: number;
}

export class Model {
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly init: InitScheme;
  readonly seed: number;
  /** Trainable values (without alignment padding). */
  readonly numParams: number;
  readonly graph: Graph;
  readonly #engine: Engine;
  /** Parameters then buffers, in state_dict order. */
  readonly #slots: Slot[];
  readonly #params: F32Buffer;
  readonly #grads: F32Buffer;
  readonly #state: F32Buffer;
  readonly #plans = new Map<Mode, Plan>();
  #training = true;
  /** Bumped whenever weights or buffers change from outside a plan (an eval plan's folded weights follow it). */
  #version = 0;
  /** Training forwards run so far: dropout's per-call counter (its masks are a function of seed and counter). */
  #dropoutCounter = 0;
  #disposed = false;

  constructor(engine: Engine, spec: ModelSpec) {
    const where = 'Model';
    if (typeof spec !== 'object' || spec === null) throw new TypeError(`${where}: expected a model spec, got ${describe(spec)}`);
    checkKeys(where, spec, MODEL_KEYS);
    if (!Array.isArray(spec.inputShape) || spec.inputShape.length === 0) {
      throw new TypeError(`${where}: inputShape must be [channels, height, width] or [features], got ${describe(spec.inputShape)}`);
    }
    spec.inputShape.forEach((d, i) => checkInt(where, `inputShape[${i}]`, d, 1));
    const init = spec.init ?? 'he';
    if (!INIT_SCHEMES.includes(init)) throw new TypeError(`${where}: unknown init ${describe(init)} (known: ${INIT_SCHEMES.join(', ')})`);
    this.seed = checkInt(where, 'seed', spec.seed ?? 0, 0, 0xffffffff);
    this.init = init;
    this.inputShape = [...spec.inputShape];
    this.graph = compileGraph(this.inputShape, spec.layers);
    this.outputShape = this.graph.values[this.graph.output];

    // Sizes before any allocation: each node's parameters and per-sample output, then the arenas.
    const heap = engine.heap;
    for (const n of this.graph.nodes) {
      const at = `'${n.path}' (${n.type})`;
      heap.checkElements(at, 'its parameters', n.params.reduce((a, p) => a + numel(p.shape), 0));
      heap.checkElements(at, 'its output (one sample)', numel(this.graph.values[n.output]));
    }
    let [pOff, sOff, count] = [0, 0, 0];
    this.#slots = stateEntries(this.graph).map((e) => {
      const length = numel(e.shape);
      const slot = { ...e, offset: e.kind === 'param' ? pOff : sOff, length };
      if (e.kind === 'param') {
        pOff += Math.ceil(length / ALIGN_FLOATS) * ALIGN_FLOATS;
        count += length;
      } else {
        sOff += Math.ceil(length / ALIGN_FLOATS) * ALIGN_FLOATS;
      }
      return slot;
    });
    heap.checkElements(where, 'the parameter arena', pOff);
    this.numParams = count;
    this.#engine = engine;
    const owned: F32Buffer[] = [];
    try {
      for (const [n, what] of [[pOff, 'model parameters'], [pOff, 'model gradients'], [sOff, 'model buffers']] as const) owned.push(engine.alloc(n, what));
    } catch (e) {
      for (const b of owned) b.dispose();
      throw e;
    }
    [this.#params, this.#grads, this.#state] = owned;
    this.#initialise();
  }

  /** Seeded values in state_dict order; only random initialisers draw, so a seed reproduces everything. */
  #initialise(): void {
    const rng = new Rng(this.seed);
    const [p, s] = [this.#params.view(), this.#state.view()];
    for (const t of this.#slots) {
      const out = (t.kind === 'param' ? p : s).subarray(t.offset, t.offset + t.length);
      fill(out, t.decl.init, t.decl.role, t.decl.fanIn, t.decl.fanOut, this.init, rng);
    }
  }

  get engine(): Engine {
    return this.#engine;
  }
  /** Values per input sample. */
  get sampleSize(): number {
    return numel(this.inputShape);
  }
  /** Values per output sample (the class count of a classifier). */
  get outputSize(): number {
    return numel(this.outputShape);
  }
  /** Classes a classifier scores: the output's width when the output is a vector. */
  get classes(): number {
    return this.outputShape.length === 1 ? this.outputShape[0] : this.outputSize;
  }

  /** Training mode (PyTorch's meaning): batch statistics in BatchNorm, dropout active. The default. */
  train(): this {
    this.#training = true;
    return this;
  }
  /** Evaluation mode: running statistics, dropout off, BatchNorm folded into the conv before it. */
  eval(): this {
    this.#training = false;
    return this;
  }
  get training(): boolean {
    return this.#training;
  }

  summaryRows(): SummaryRow[] {
    return this.graph.nodes.map((n) => ({
      name: n.path,
      type: n.type,
      outputShape: [...this.graph.values[n.output]],
      params: n.params.reduce((a, p) => a + numel(p.shape), 0),
      depth: n.path.split('.').length - 1,
    }));
  }

  /** A printable tree: module path, type, output shape, parameter count, and the totals. */
  summary(): string {
    const rows = this.summaryRows();
    const head = ['Module (type)', 'Output shape', 'Params'];
    const body = rows.map((r) => [`${'  '.repeat(r.depth)}${r.name} (${r.type})`, fmt(r.outputShape), r.params.toLocaleString('en-US')]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('   ');
    const rule = '─'.repeat(line(head).length);
    const buffers = this.#slots.filter((s) => s.kind === 'buffer').reduce((a, s) => a + s.length, 0);
    return [
      `Model, input ${fmt(this.inputShape)} → output ${fmt(this.outputShape)}`, rule, line(head), rule, ...body.map(line), rule,
      `Total params: ${this.numParams.toLocaleString('en-US')}${buffers ? ` (+ ${buffers.toLocaleString('en-US')} buffer values)` : ''}`,
    ].join('\n');
  }

  /** The model as plain JSON; with `weights: true` (default) the state_dict is included. */
  toJSON(opts: { weights?: boolean } = {}): ModelJSON {
    this.#alive();
    const json: ModelJSON = {
      format: 'wasmcnn.model',
      version: 2,
      inputShape: [...this.inputShape],
      init: this.init,
      seed: this.seed,
      layers: structuredClone(this.graph.layers) as LayerSpecJSON[],
    };
    if (opts.weights ?? true) json.weights = Object.fromEntries(Object.entries(this.getWeights()).map(([k, v]) => [k, Array.from(v)]));
    if (this.#dropoutCounter > 0) json.dropoutCounter = this.#dropoutCounter;
    return json;
  }

  static fromJSON(engine: Engine, json: ModelJSON): Model {
    const where = 'Model.fromJSON';
    if (typeof json !== 'object' || json === null) throw new TypeError(`${where}: expected an object, got ${describe(json)}`);
    const v1 = json.format === 'wasmcnn.sequential';
    if (!v1 && json.format !== 'wasmcnn.model') throw new TypeError(`${where}: format must be 'wasmcnn.model', got ${describe(json.format)}`);
    if (json.version !== (v1 ? 1 : 2)) throw new RangeError(`${where}: unsupported version ${describe(json.version)} (this library reads ${v1 ? 1 : 2})`);
    checkKeys(where, json, JSON_KEYS);
    const counter = json.dropoutCounter ?? 0;
    if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`${where}: dropoutCounter must be a non-negative integer, got ${describe(json.dropoutCounter)}`);
    const m = new Model(engine, { inputShape: json.inputShape, layers: json.layers, init: json.init, seed: json.seed });
    if (json.weights !== undefined) {
      try {
        // Every tensor must be there: a missing one would silently keep its random initial values.
        m.#checkWeights(`${where}: weights`, json.weights, true);
        m.#writeWeights(json.weights);
      } catch (e) {
        m.dispose();
        throw e;
      }
    }
    m.#dropoutCounter = counter;
    return m;
  }

  /** Copies of the state_dict: every parameter and buffer by name, in PyTorch's order. */
  getWeights(): Record<string, Float32Array> {
    this.#alive();
    const [p, s] = [this.#params.view(), this.#state.view()];
    return Object.fromEntries(this.#slots.map((t) => [t.name, (t.kind === 'param' ? p : s).slice(t.offset, t.offset + t.length)]));
  }

  /** Trainable parameter names and shapes, in order (what an optimizer steps over). */
  parameterShapes(): { name: string; shape: number[] }[] {
    return this.#slots.filter((s) => s.kind === 'param').map((s) => ({ name: s.name, shape: [...s.shape] }));
  }

  /** Every state_dict entry: name, shape, and whether it is a parameter or a buffer. */
  stateShapes(): { name: string; shape: number[]; kind: 'param' | 'buffer' }[] {
    return this.#slots.map((s) => ({ name: s.name, shape: [...s.shape], kind: s.kind }));
  }

  /**
   * Sets state_dict entries by name. With `strict` (the default, as PyTorch's `load_state_dict`) every
   * parameter and buffer must be given; `strict: false` sets only those given. Every name, length and
   * value (finite in float32) is checked before anything is written.
   */
  setWeights(weights: Record<string, ArrayLike<number>>, opts: { strict?: boolean } = {}): void {
    this.#alive();
    const where = 'setWeights';
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`${where}: options must be an object, got ${describe(opts)}`);
    checkKeys(where, opts, ['strict']);
    this.#checkWeights(where, weights, checkBool(where, 'strict', opts.strict ?? true));
    this.#writeWeights(weights);
  }

  #writeWeights(weights: Record<string, ArrayLike<number>>): void {
    const known = new Map(this.#slots.map((s) => [s.name, s]));
    const [p, s] = [this.#params.view(), this.#state.view()];
    for (const [name, values] of Object.entries(weights)) {
      const t = known.get(name)!;
      (t.kind === 'param' ? p : s).set(values, t.offset);
    }
    this.#version++;
  }

  /** @internal What `setWeights` checks before writing (strict: all present); resume checks a checkpoint with it. */
  _checkWeights(where: string, weights: Record<string, ArrayLike<number>>, strict = true): void {
    this.#checkWeights(where, weights, strict);
  }

  #checkWeights(where: string, weights: unknown, strict: boolean): void {
    if (typeof weights !== 'object' || weights === null || Array.isArray(weights) || ArrayBuffer.isView(weights)) {
      throw new TypeError(`${where}: weights must be an object mapping parameter names to values, got ${describe(weights)}`);
    }
    const known = new Map(this.#slots.map((s) => [s.name, s]));
    const given = weights as Record<string, unknown>;
    for (const [name, values] of Object.entries(given)) {
      const s = known.get(name);
      if (!s) throw new TypeError(`${where}: unknown parameter '${name}' (known: ${[...known.keys()].join(', ')})`);
      if (values === null || typeof values !== 'object' || typeof (values as { length?: unknown }).length !== 'number') {
        throw new TypeError(`${where}: '${name}' must be an array or Float32Array of ${s.length} numbers, got ${describe(values)}`);
      }
      const v = values as ArrayLike<number>;
      if (v.length !== s.length) throw new RangeError(`${where}: '${name}' has ${v.length} values, expected ${s.length} (shape ${fmt(s.shape)})`);
      checkFinite(where, `'${name}'`, v);
    }
    if (strict) {
      const missing = this.#slots.filter((s) => !(s.name in given)).map((s) => s.name);
      if (missing.length) {
        throw new RangeError(`${where}: missing parameters ${missing.map((m) => `'${m}'`).join(', ')} (pass { strict: false } to set only some)`);
      }
    }
  }

  /** Trains on (x, y): x is N samples of `inputShape` (NCHW), y the N class labels (or targets, see `loss`). */
  fit(x: Float32Array, y: ArrayLike<number>, opts?: FitOptions): Promise<History> {
    this.#alive();
    return fit(this, x, y, opts);
  }

  /** The loss (and accuracy, top-k) on (x, y) in eval mode. */
  evaluate(x: Float32Array, y: ArrayLike<number>, opts?: EvaluateOptions): Promise<EvalResult> {
    this.#alive();
    return evaluate(this, x, y, opts);
  }

  /** Outputs in eval mode (class probabilities by default for a classifier), N × outputSize. */
  predict(x: Float32Array, opts?: PredictOptions): Promise<Float32Array> {
    this.#alive();
    return predict(this, x, opts);
  }

  /**
   * The loss of one batch and the gradient of every parameter, in the model's mode (`train()`: batch
   * statistics, which move BatchNorm's running statistics as a training step would; `eval()`: running
   * statistics). The weights are not changed. For your own training loop, or to check gradients.
   */
  lossAndGradients(x: Float32Array, y: ArrayLike<number>, opts: { loss?: LossSpec } = {}): { loss: number; gradients: Record<string, Float32Array> } {
    this.#alive();
    const where = 'lossAndGradients';
    checkKeys(where, opts ?? {}, ['loss']);
    const loss = new Loss(this.#engine, opts?.loss, this.outputShape, where);
    try {
      const n = checkXY(where, this, x, y, loss);
      const plan = this._plan('train', n);
      gather(plan, this.sampleSize, x, null, 0, n);
      loss.gather(y, n, null, 0, n);
      plan.forward(n, this.#training);
      const value = loss.forward(plan.outputPtr, plan.outputGradPtr, n);
      plan.backward(n, false, this.#training);
      if (this.#training) this.#version++;
      const g = this.#grads.view();
      const gradients = Object.fromEntries(this.#slots.filter((t) => t.kind === 'param').map((t) => [t.name, g.slice(t.offset, t.offset + t.length)]));
      return { loss: value, gradients };
    } finally {
      loss.dispose();
    }
  }

  /**
   * The learning-rate range test (Smith 2015; fastai's lr_find): the loss over an exponential ramp of
   * rates, with suggestions. The weights, buffers and a given optimizer's state are restored bitwise after.
   */
  lrFind(x: Float32Array, y: ArrayLike<number>, opts?: LrFindOptions): Promise<LrFindResult> {
    this.#alive();
    return lrFind(this, x, y, opts);
  }

  /**
   * Loads a safetensors file (bytes, a Blob or a Response) into the state_dict, as PyTorch's
   * `load_state_dict`: strict by default (every tensor, nothing extra); shape mismatches refuse the file
   * unless `skipMismatched` (swapping a head). F16/BF16/F64 convert to F32. Nothing changes unless it loads.
   */
  loadWeights(source: WeightsSource, opts?: LoadWeightsOptions): Promise<LoadWeightsReport> {
    this.#alive();
    return loadWeights(this, source, opts);
  }

  /** `loadWeights` from bytes already in memory, synchronously. */
  loadWeightsSync(bytes: ArrayBufferLike | ArrayBufferView, opts?: LoadWeightsOptions): LoadWeightsReport {
    this.#alive();
    return loadWeightsSync(this, bytes, opts);
  }

  /** The state_dict as safetensors bytes (F32; BatchNorm's num_batches_tracked as I64): torch loads it with strict=True. */
  saveWeights(metadata?: Record<string, string>): Uint8Array {
    this.#alive();
    return saveWeights(this, metadata);
  }

  // ---- internals used by the training loop (not part of the public API) ----

  /** @internal The flat parameter and gradient arenas (an optimizer steps over these) and the buffers. */
  get _buffers(): { params: F32Buffer; grads: F32Buffer; state: F32Buffer } {
    this.#alive();
    return { params: this.#params, grads: this.#grads, state: this.#state };
  }

  /** @internal Every parameter tensor's place in the flat arenas (floats; tensors 16-byte aligned, zero padding between). */
  _paramLayout(): { name: string; offset: number; length: number; shape: number[]; tags: string[] }[] {
    return this.#slots.filter((s) => s.kind === 'param').map((s) => ({ name: s.name, offset: s.offset, length: s.length, shape: [...s.shape], tags: [...s.decl.tags] }));
  }

  /** @internal Where each state_dict entry lives (the plans bind node parameters and buffers through this). */
  _slotsOf(node: number): { name: string; kind: 'param' | 'buffer'; offset: number; length: number }[] {
    return this.#slots.filter((s) => s.node === node).map((s) => ({ name: s.decl.name, kind: s.kind, offset: s.offset, length: s.length }));
  }

  /** @internal Weights changed outside training (setWeights, resume): eval plans refold. */
  get _version(): number {
    return this.#version;
  }
  /** @internal Dropout's call counter (the plans advance it once per training forward); toJSON, saveWeights and checkpoints carry it. */
  get _dropoutCounter(): number {
    return this.#dropoutCounter;
  }
  set _dropoutCounter(v: number) {
    this.#dropoutCounter = v;
  }
  /** @internal A training step changed the parameters or buffers. */
  _touch(): void {
    this.#version++;
  }

  /** @internal The plan for `mode` holding at least `batch` samples (grow-only; built on first use). */
  _plan(mode: Mode, batch: number): Plan {
    this.#alive();
    let p = this.#plans.get(mode);
    if (p && p.capacity >= batch) return p;
    // Validated and sized in full before the old plan is freed (a refusal leaves the model as it was).
    const next = new Plan(this, mode, batch);
    p?.dispose();
    this.#plans.set(mode, next);
    return next;
  }

  #alive(): void {
    if (this.#disposed) throw new Error('wasmcnn: this model was disposed and cannot be used');
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Frees all wasm memory the model holds. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const p of this.#plans.values()) p.dispose();
    this.#plans.clear();
    this.#params.dispose();
    this.#grads.dispose();
    this.#state.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
