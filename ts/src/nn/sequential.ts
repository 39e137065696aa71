// The Sequential model: layers in order, all parameters in one flat buffer (and gradients in a parallel one,
// so an optimizer step is a single fused wasm call), activations in buffers sized to the largest batch seen.
import { checkBool, checkFinite, checkInt, checkKeys, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer, U32Buffer } from '../runtime/memory.js';
import { INIT_SCHEMES, fillParam, type InitScheme } from './init.js';
import { buildLayer, type LayerSpec } from './layers/index.js';
import { numel, type Layer, type LayerIO } from './layer.js';
import { Relu } from './layers/simple.js';
import { Rng } from './rng.js';
import { checkXY, evaluate, fit, predict, type EvalResult, type FitOptions, type History } from '../train/fit.js';

export interface ModelSpec {
  /** Per-sample input shape: [channels, height, width] for images, [features] for flat input. */
  inputShape: readonly number[];
  layers: readonly LayerSpec[];
  /** Weight initialisation, default 'he'. */
  init?: InitScheme;
  /** Seed of the initialisation; the same seed gives the same weights everywhere. Default 0. */
  seed?: number;
}

export interface ModelJSON extends ModelSpec {
  format: 'wasmcnn.sequential';
  version: 1;
  /** Parameter values by name (`conv2d_0.weight`), present when saved with weights. */
  weights?: Record<string, number[]>;
}

export interface SummaryRow {
  name: string;
  type: string;
  outputShape: number[];
  params: number;
}

/** Parameter offsets are rounded up to 4 floats so every tensor starts 16-byte aligned for SIMD. */
const ALIGN_FLOATS = 4;
const MODEL_KEYS = ['inputShape', 'layers', 'init', 'seed'] as const;
const JSON_KEYS = [...MODEL_KEYS, 'format', 'version', 'weights'] as const;

interface ParamSlot {
  name: string;
  layer: number;
  shape: number[];
  offset: number;
  length: number;
}

export class Sequential {
  readonly inputShape: readonly number[];
  readonly layers: readonly Layer[];
  readonly init: InitScheme;
  readonly seed: number;
  /** Number of trainable values (without alignment padding). */
  readonly numParams: number;
  readonly #engine: Engine;
  readonly #slots: ParamSlot[] = [];
  /** Each layer's parameter slots, in order (looked up on every forward/backward call). */
  readonly #layerSlots: ParamSlot[][];
  readonly #params: F32Buffer;
  readonly #grads: F32Buffer;
  #capacity = 0;
  #input: F32Buffer | null = null;
  #labels: U32Buffer | null = null;
  #acts: (F32Buffer | null)[] = [];
  #dacts: (F32Buffer | null)[] = [];
  #scratch: (U32Buffer | null)[] = [];
  #disposed = false;

  constructor(engine: Engine, spec: ModelSpec) {
    const where = 'Sequential';
    if (typeof spec !== 'object' || spec === null) throw new TypeError(`${where}: expected a model spec, got ${describe(spec)}`);
    checkKeys(where, spec, MODEL_KEYS);
    if (!Array.isArray(spec.inputShape) || spec.inputShape.length === 0) {
      throw new TypeError(`${where}: inputShape must be [channels, height, width] or [features], got ${describe(spec.inputShape)}`);
    }
    spec.inputShape.forEach((d, i) => checkInt(where, `inputShape[${i}]`, d, 1));
    if (!Array.isArray(spec.layers) || spec.layers.length === 0) {
      throw new TypeError(`${where}: layers must be a non-empty array, got ${describe(spec.layers)}`);
    }
    const init = spec.init ?? 'he';
    if (!INIT_SCHEMES.includes(init)) throw new TypeError(`${where}: unknown init ${describe(init)} (known: ${INIT_SCHEMES.join(', ')})`);
    this.seed = checkInt(where, 'seed', spec.seed ?? 0, 0, 0xffffffff);
    this.init = init;
    this.inputShape = [...spec.inputShape];

    // Build and validate every layer before allocating anything.
    const layers: Layer[] = [];
    const names = new Set<string>();
    let shape: readonly number[] = this.inputShape;
    spec.layers.forEach((ls, i) => {
      const l = buildLayer(i, ls, shape, names);
      layers.push(l);
      shape = l.outShape;
    });
    if (shape.length !== 1) {
      throw new RangeError(`${where}: the last layer must output class scores [classes], it outputs [${shape.join(', ')}]; end with flatten + dense`);
    }
    // Fused epilogues: a ReLU right after a conv2d or dense runs inside that layer's kernels.
    for (let i = 1; i < layers.length; i++) {
      const prev = layers[i - 1];
      if (layers[i] instanceof Relu && prev.fuseRelu && !prev.aliasesInput) {
        prev.fuseRelu();
        (layers[i] as Relu).fuse();
      }
    }
    this.layers = layers;

    // Sizes before any allocation: each layer's parameters and per-sample output, then the whole arena.
    const heap = engine.heap;
    for (const l of layers) {
      const at = `${l.type} '${l.name}'`;
      heap.checkElements(at, 'its parameters', l.params.reduce((a, p) => a + numel(p.shape), 0));
      heap.checkElements(at, 'its output (one sample)', numel(l.outShape));
    }
    let offset = 0;
    let count = 0;
    layers.forEach((l, li) =>
      l.params.forEach((p) => {
        const length = numel(p.shape);
        this.#slots.push({ name: p.name, layer: li, shape: p.shape, offset, length });
        offset += Math.ceil(length / ALIGN_FLOATS) * ALIGN_FLOATS;
        count += length;
      }),
    );
    heap.checkElements(where, 'the parameter arena', offset);
    this.numParams = count;
    this.#layerSlots = layers.map((_, li) => this.#slots.filter((s) => s.layer === li));
    this.#engine = engine;
    this.#params = engine.alloc(offset, 'model parameters');
    this.#grads = engine.alloc(offset, 'model gradients');
    this.#initialise();
  }

  #initialise(): void {
    const rng = new Rng(this.seed);
    const view = this.#params.view();
    for (const s of this.#slots) {
      const info = this.layers[s.layer].params.find((p) => p.name === s.name)!;
      fillParam(view.subarray(s.offset, s.offset + s.length), info.kind, info.fanIn, info.fanOut, this.init, rng);
    }
  }

  get engine(): Engine {
    return this.#engine;
  }
  /** Classes the model scores (the last layer's width). */
  get classes(): number {
    return this.layers[this.layers.length - 1].outShape[0];
  }
  /** Values per input sample. */
  get sampleSize(): number {
    return numel(this.inputShape);
  }

  summaryRows(): SummaryRow[] {
    return this.layers.map((l) => ({
      name: l.name,
      type: l.type,
      outputShape: [...l.outShape],
      params: l.params.reduce((a, p) => a + numel(p.shape), 0),
    }));
  }

  /** A printable table: layer, output shape, parameter count, and the total. */
  summary(): string {
    const rows = this.summaryRows();
    const head = ['Layer (type)', 'Output shape', 'Params'];
    const body = rows.map((r) => [`${r.name} (${r.type})`, `[${r.outputShape.join(', ')}]`, r.params.toLocaleString('en-US')]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('   ');
    const rule = '─'.repeat(line(head).length);
    return [
      `Sequential, input [${this.inputShape.join(', ')}]`, rule, line(head), rule, ...body.map(line), rule,
      `Total params: ${this.numParams.toLocaleString('en-US')}`,
    ].join('\n');
  }

  /** The model as plain JSON; with `weights: true` (default) the parameter values are included. */
  toJSON(opts: { weights?: boolean } = {}): ModelJSON {
    this.#alive();
    const json: ModelJSON = {
      format: 'wasmcnn.sequential',
      version: 1,
      inputShape: [...this.inputShape],
      init: this.init,
      seed: this.seed,
      layers: this.layers.map((l) => l.toSpec() as unknown as LayerSpec),
    };
    if (opts.weights ?? true) json.weights = Object.fromEntries(Object.entries(this.getWeights()).map(([k, v]) => [k, Array.from(v)]));
    return json;
  }

  static fromJSON(engine: Engine, json: ModelJSON): Sequential {
    const where = 'Sequential.fromJSON';
    if (typeof json !== 'object' || json === null) throw new TypeError(`${where}: expected an object, got ${describe(json)}`);
    if (json.format !== 'wasmcnn.sequential') throw new TypeError(`${where}: format must be 'wasmcnn.sequential', got ${describe(json.format)}`);
    if (json.version !== 1) throw new RangeError(`${where}: unsupported version ${describe(json.version)} (this library reads 1)`);
    checkKeys(where, json, JSON_KEYS);
    const m = new Sequential(engine, { inputShape: json.inputShape, layers: json.layers, init: json.init, seed: json.seed });
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
    return m;
  }

  /** Copies of every parameter by name. */
  getWeights(): Record<string, Float32Array> {
    this.#alive();
    const view = this.#params.view();
    return Object.fromEntries(this.#slots.map((s) => [s.name, view.slice(s.offset, s.offset + s.length)]));
  }

  /** Parameter names and shapes, in order. */
  parameterShapes(): { name: string; shape: number[] }[] {
    return this.#slots.map((s) => ({ name: s.name, shape: [...s.shape] }));
  }

  /**
   * Sets parameters by name. With `strict` (the default, as PyTorch's `load_state_dict`) every parameter
   * must be given; `strict: false` sets only those given. Every name, length and value (finite in float32)
   * is checked before anything is written.
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
    const view = this.#params.view();
    for (const [name, values] of Object.entries(weights)) view.set(values, known.get(name)!.offset);
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
      if (v.length !== s.length) throw new RangeError(`${where}: '${name}' has ${v.length} values, expected ${s.length} (shape [${s.shape.join(', ')}])`);
      checkFinite(where, `'${name}'`, v);
    }
    if (strict) {
      const missing = this.#slots.filter((s) => !(s.name in given)).map((s) => s.name);
      if (missing.length) {
        throw new RangeError(`${where}: missing parameters ${missing.map((m) => `'${m}'`).join(', ')} (pass { strict: false } to set only some)`);
      }
    }
  }

  /** Trains on (x, y): x is N samples of `inputShape` (NCHW), y the N class labels. */
  fit(x: Float32Array, y: ArrayLike<number>, opts?: FitOptions): Promise<History> {
    this.#alive();
    return fit(this, x, y, opts);
  }

  /** Mean cross-entropy and accuracy on (x, y). */
  evaluate(x: Float32Array, y: ArrayLike<number>, opts?: { batchSize?: number }): Promise<EvalResult> {
    this.#alive();
    return evaluate(this, x, y, opts);
  }

  /** Class probabilities (or logits with `{ logits: true }`), N × classes. */
  predict(x: Float32Array, opts?: { batchSize?: number; logits?: boolean }): Promise<Float32Array> {
    this.#alive();
    return predict(this, x, opts);
  }

  /**
   * Mean cross-entropy of one batch and the gradient of every parameter (for your own training loop,
   * or to check gradients); the weights are not changed.
   */
  lossAndGradients(x: Float32Array, y: ArrayLike<number>): { loss: number; gradients: Record<string, Float32Array> } {
    this.#alive();
    const n = checkXY('lossAndGradients', this, x, y, true);
    this._reserve(n);
    this._inputView().set(x);
    const labels = this._labelView();
    for (let i = 0; i < n; i++) labels[i] = y[i];
    this._forward(n);
    const loss = this._loss(n);
    this._backward(n);
    const g = this.#grads.view();
    return { loss, gradients: Object.fromEntries(this.#slots.map((s) => [s.name, g.slice(s.offset, s.offset + s.length)])) };
  }

  // ---- internals used by the training loop (not part of the public API) ----

  /** @internal The flat parameter and gradient buffers (an optimizer steps over these). */
  get _buffers(): { params: F32Buffer; grads: F32Buffer } {
    this.#alive();
    return { params: this.#params, grads: this.#grads };
  }

  /**
   * @internal Every parameter tensor's place in the flat buffers, in order: offsets and lengths in floats
   * (tensors start on ALIGN_FLOATS boundaries; the padding between them stays zero). Optimizers step over this.
   */
  _paramLayout(): { name: string; offset: number; length: number; shape: number[] }[] {
    return this.#slots.map((s) => ({ name: s.name, offset: s.offset, length: s.length, shape: [...s.shape] }));
  }

  /** @internal Makes sure activation buffers hold `batch` samples. */
  _reserve(batch: number): void {
    this.#alive();
    if (batch <= this.#capacity) return;
    // Every buffer's size is checked before any is freed or allocated (batch × per-sample may exceed wasm32).
    const heap = this.#engine.heap;
    const at = (what: string) => `${what} at batch ${batch}`;
    heap.checkElements('Sequential', at('the input batch'), batch * this.sampleSize);
    for (const l of this.layers) {
      if (!l.aliasesInput) heap.checkElements(`${l.type} '${l.name}'`, at('the output'), batch * numel(l.outShape));
      if (l.scratchPerSample) heap.checkElements(`${l.type} '${l.name}'`, at('the scratch'), batch * l.scratchPerSample);
    }
    this.#freeActivations();
    const e = this.#engine;
    this.#input = e.alloc(batch * this.sampleSize, 'model input batch');
    this.#labels = e.allocU32(batch, 'model label batch');
    this.#acts = this.layers.map((l) => (l.aliasesInput ? null : e.alloc(batch * numel(l.outShape), `${l.name} output`)));
    this.#dacts = this.layers.map((l) => (l.aliasesInput ? null : e.alloc(batch * numel(l.outShape), `${l.name} output gradient`)));
    this.#scratch = this.layers.map((l) => (l.scratchPerSample ? e.allocU32(batch * l.scratchPerSample, `${l.name} argmax`) : null));
    this.#capacity = batch;
  }

  /** @internal Views to fill the input and label batch in place. */
  _inputView(): Float32Array {
    return this.#input!.view();
  }
  /** @internal */
  _labelView(): Uint32Array {
    return this.#labels!.view();
  }

  #outPtr(i: number): number {
    for (let j = i; j >= 0; j--) if (this.#acts[j]) return this.#acts[j]!.ptr;
    return this.#input!.ptr;
  }
  #doutPtr(i: number): number {
    for (let j = i; j >= 0; j--) if (this.#dacts[j]) return this.#dacts[j]!.ptr;
    return 0; // the input needs no gradient
  }
  #io(i: number, batch: number): LayerIO {
    const slots = this.#layerSlots[i];
    return {
      batch,
      x: this.#outPtr(i - 1),
      y: this.#outPtr(i),
      params: slots.map((s) => this.#params.ptr + 4 * s.offset),
      grads: slots.map((s) => this.#grads.ptr + 4 * s.offset),
    };
  }

  /** @internal Forward over the current input batch; returns a pointer to the logits. */
  _forward(batch: number): number {
    const ex = this.#engine.exports;
    this.layers.forEach((l, i) => l.forward(ex, this.#io(i, batch), this.#scratch[i]?.ptr ?? 0));
    return this.#outPtr(this.layers.length - 1);
  }

  /**
   * @internal Mean cross-entropy of the logits against the label batch; writes the logits' gradient, times
   * `gradScale` (a micro-batch's share of an accumulated step).
   */
  _loss(batch: number, gradScale = 1): number {
    const last = this.layers.length - 1;
    const ex = this.#engine.exports;
    const loss = ex.wcnn_softmax_cross_entropy(batch, this.classes, this.#outPtr(last), this.#labels!.ptr, this.#doutPtr(last));
    if (gradScale !== 1) ex.wcnn_scale(this.#doutPtr(last), batch * this.classes, gradScale);
    return loss;
  }

  /** @internal Backward from the logits' gradient into the parameter gradients. */
  _backward(batch: number, accumulate = false): void {
    const ex = this.#engine.exports;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i];
      if (l.aliasesInput) continue;
      l.backward(ex, this.#io(i, batch), this.#scratch[i]?.ptr ?? 0, this.#doutPtr(i), this.#doutPtr(i - 1), accumulate);
    }
  }

  /** @internal The first layer (in forward order) whose output for the current batch holds a non-finite value. */
  _firstNonFiniteOutput(batch: number): string | null {
    const ex = this.#engine.exports;
    for (let i = 0; i < this.layers.length; i++) {
      const b = this.#acts[i];
      if (b && ex.wcnn_first_non_finite(b.ptr, batch * numel(this.layers[i].outShape)) >= 0) return this.layers[i].name;
    }
    return null;
  }

  #freeActivations(): void {
    for (const b of [this.#input, this.#labels, ...this.#acts, ...this.#dacts, ...this.#scratch]) b?.dispose();
    this.#input = this.#labels = null;
    this.#acts = this.#dacts = this.#scratch = [];
    this.#capacity = 0;
  }

  #alive(): void {
    if (this.#disposed) throw new Error('wasmcnn: this Sequential model was disposed and cannot be used');
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Frees all wasm memory the model holds. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#freeActivations();
    this.#params.dispose();
    this.#grads.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
