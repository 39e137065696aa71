// The loss fit attaches to a model's output (a model is not tied to class scores): PyTorch's losses with
// their options, each one operator object of the wasm ABI that returns the value (f64) and writes the
// gradient with respect to the output. Targets are class labels (cross-entropy) or values shaped like the
// output (cross-entropy over probabilities, binary cross-entropy, the regression losses).
import { checkFinite, checkInt, checkKeys, checkNumber, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer, U32Buffer } from '../runtime/memory.js';
import { WasmOp } from '../runtime/op.js';
import { BCE_WITH_LOGITS, CROSS_ENTROPY, REGRESSION, REGRESSION_KINDS } from '../runtime/op-defs.js';

export type LossName = 'crossEntropy' | 'binaryCrossEntropy' | 'mse' | 'l1' | 'huber' | 'smoothL1';
export type Reduction = 'mean' | 'sum';

export type LossSpec =
  | LossName
  | {
      type: 'crossEntropy';
      /** PyTorch's label_smoothing, default 0. */
      labelSmoothing?: number;
      /** A weight per class (PyTorch's weighted mean: divided by the weights of the counted targets). */
      weight?: readonly number[];
      /** Labels equal to this are not counted (PyTorch's ignore_index). */
      ignoreIndex?: number;
      reduction?: Reduction;
    }
  | { type: 'binaryCrossEntropy'; weight?: readonly number[]; posWeight?: readonly number[]; reduction?: Reduction }
  | { type: 'mse' | 'l1'; reduction?: Reduction }
  | { type: 'huber'; delta?: number; reduction?: Reduction }
  | { type: 'smoothL1'; beta?: number; reduction?: Reduction };

export const LOSSES: readonly LossName[] = ['crossEntropy', 'binaryCrossEntropy', 'mse', 'l1', 'huber', 'smoothL1'];

interface ResolvedLoss {
  type: LossName;
  labelSmoothing: number;
  weight: number[] | null;
  posWeight: number[] | null;
  ignoreIndex: number | null;
  reduction: Reduction;
  /** Huber's delta or SmoothL1's beta. */
  param: number;
}

function resolve(where: string, spec: unknown, width: number): ResolvedLoss {
  const o = (typeof spec === 'string' ? { type: spec } : spec) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TypeError(`${where}: loss must be a name or { type, … }, got ${describe(spec)}`);
  if (!(LOSSES as readonly unknown[]).includes(o.type)) throw new TypeError(`${where}: unknown loss ${describe(o.type)} (known: ${LOSSES.join(', ')})`);
  const type = o.type as LossName;
  const keys = { crossEntropy: ['labelSmoothing', 'weight', 'ignoreIndex'], binaryCrossEntropy: ['weight', 'posWeight'], mse: [], l1: [], huber: ['delta'], smoothL1: ['beta'] }[type];
  checkKeys(`${where}: loss`, o, ['type', 'reduction', ...keys]);
  const reduction = o.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') throw new TypeError(`${where}: loss.reduction must be 'mean' or 'sum', got ${describe(reduction)}`);
  const vec = (name: string, v: unknown, min: number): number[] | null => {
    if (v === undefined) return null;
    if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new TypeError(`${where}: loss.${name} must be an array of ${width} numbers, got ${describe(v)}`);
    const a = Array.from(v as ArrayLike<number>);
    if (a.length !== width) throw new RangeError(`${where}: loss.${name} has ${a.length} values, the model outputs ${width} per sample`);
    checkFinite(where, `loss.${name}`, a);
    a.forEach((x, i) => checkNumber(where, `loss.${name}[${i}]`, x, min));
    return a;
  };
  return {
    type,
    labelSmoothing: checkNumber(where, 'loss.labelSmoothing', o.labelSmoothing ?? 0, 0, 1),
    weight: vec('weight', o.weight, 0),
    posWeight: vec('posWeight', o.posWeight, 0),
    ignoreIndex: o.ignoreIndex === undefined ? null : checkInt(where, 'loss.ignoreIndex', o.ignoreIndex, -(2 ** 31), 2 ** 31 - 1),
    reduction,
    param: checkNumber(where, type === 'huber' ? 'loss.delta' : 'loss.beta', (type === 'huber' ? o.delta : o.beta) ?? 1, 0, Infinity, { loOpen: type === 'huber' }),
  };
}

/** What the targets `y` of fit / evaluate are for this loss. */
export type TargetKind = 'labels' | 'values';

/** A loss bound to an output of `width` values per sample, with its target and gradient buffers. */
export class Loss {
  readonly config: ResolvedLoss;
  readonly width: number;
  readonly #engine: Engine;
  readonly #where: string;
  #op: WasmOp | null = null;
  /** The output's slot and its gradient's in the op's io block. */
  #slots: [string, string] = ['', ''];
  /** Labels (i32, as u32 bits) or values shaped like the output. */
  #labels: U32Buffer | null = null;
  #values: F32Buffer | null = null;
  /** Class weights (cross-entropy) or weight and posWeight (binary cross-entropy). */
  #weights: F32Buffer | null = null;
  #posWeights: F32Buffer | null = null;
  #out: F32Buffer | null = null;
  #capacity = 0;
  #bound: [number, number] = [-1, -1];

  constructor(engine: Engine, spec: LossSpec | undefined, output: readonly number[], where = 'fit') {
    this.#engine = engine;
    this.#where = where;
    this.width = output.reduce((a, b) => a * b, 1);
    this.config = resolve(where, spec ?? 'crossEntropy', this.width);
    if (this.config.type === 'crossEntropy' && output.length !== 1) {
      throw new RangeError(`${where}: crossEntropy scores classes: the model's output must be [classes], it is [${output.join(', ')}] (add flatten + dense, or pick a loss for this output)`);
    }
  }

  /**
   * What `y` holds for `n` samples: cross-entropy takes class indices (n of them), or class probabilities as
   * a Float32Array of n × classes; every other loss takes values shaped like the output.
   */
  targetKind(y: unknown, n: number): TargetKind {
    if (this.config.type !== 'crossEntropy') return 'values';
    return y instanceof Float32Array && this.width > 1 && y.length === n * this.width ? 'values' : 'labels';
  }

  /** Checks targets for `n` samples (labels in range, or finite values of the output's size). */
  checkTargets(where: string, y: unknown, n: number): void {
    if (this.targetKind(y, n) === 'labels') {
      if (!(ArrayBuffer.isView(y) || Array.isArray(y))) throw new TypeError(`${where}: labels must be an array or typed array of class indices, got ${describe(y)}`);
      const l = y as ArrayLike<number>;
      if (l.length !== n) throw new RangeError(`${where}: labels has length ${l.length}, expected ${n}`);
      const ignore = this.config.ignoreIndex;
      for (let i = 0; i < l.length; i++) {
        const v = l[i];
        if (v === ignore) continue;
        if (!Number.isInteger(v) || v < 0 || v >= this.width) throw new RangeError(`${where}: label ${i} is ${v}, expected an integer class in [0, ${this.width - 1}]`);
      }
      return;
    }
    if (!(y instanceof Float32Array)) throw new TypeError(`${where}: targets must be a Float32Array of ${n} × ${this.width} values for ${this.config.type}, got ${describe(y)}`);
    if (y.length !== n * this.width) throw new RangeError(`${where}: targets have ${y.length} values, expected ${n} × ${this.width}`);
    checkFinite(where, 'targets', y);
  }

  #ensure(batch: number, kind: TargetKind): void {
    if (this.#op && batch <= this.#capacity && (kind === 'labels') === (this.#labels !== null)) return;
    this.#free();
    try {
      this.#make(batch, kind);
    } catch (e) {
      this.#free();
      throw e;
    }
  }

  /** The loss's operator and buffers for `batch` samples of `kind` targets. */
  #make(batch: number, kind: TargetKind): void {
    const e = this.#engine;
    const c = this.config;
    const where = `${this.#where}: loss`;
    const reduction = c.reduction === 'sum' ? 1 : 0;
    const n = this.width;
    const vec = (v: number[] | null, what: string) => {
      if (!v) return null;
      const b = e.alloc(n, what);
      b.view().set(v);
      return b;
    };
    this.#out = e.alloc(2, 'loss value');
    if (kind === 'labels') this.#labels = e.allocU32(batch, 'loss labels');
    else this.#values = e.alloc(batch * n, 'loss targets');
    if (c.type === 'crossEntropy') {
      this.#weights = vec(c.weight, 'loss class weights');
      // PyTorch's default ignore_index (-100) never matches a checked label; written as its i32 bits.
      const ignoreIndex = (c.ignoreIndex ?? -100) >>> 0;
      const attrs = { classes: n, probabilities: kind === 'labels' ? 0 : 1, reduction, weighted: this.#weights ? 1 : 0, ignoreIndex };
      this.#op = new WasmOp(e, CROSS_ENTROPY, where, attrs, [c.labelSmoothing]);
      this.#slots = ['logits', 'dlogits'];
    } else if (c.type === 'binaryCrossEntropy') {
      this.#weights = vec(c.weight, 'loss weights');
      this.#posWeights = vec(c.posWeight, 'loss posWeight');
      this.#op = new WasmOp(e, BCE_WITH_LOGITS, where, { n, reduction, weighted: this.#weights ? 1 : 0, posWeighted: this.#posWeights ? 1 : 0 });
      this.#slots = ['x', 'dx'];
    } else {
      this.#op = new WasmOp(e, REGRESSION, where, { n, fn: REGRESSION_KINDS.indexOf(c.type), reduction }, [c.param]);
      this.#slots = ['x', 'dx'];
    }
    this.#capacity = batch;
    this.#bound = [-1, -1];
  }

  /** Copies the targets of samples `order[from..from+count]` (or from..from+count) into wasm memory. */
  gather(y: ArrayLike<number>, n: number, order: Uint32Array | null, from: number, count: number): void {
    const kind = this.targetKind(y, n);
    this.#ensure(Math.max(count, this.#capacity), kind);
    if (kind === 'labels') {
      // i32 labels through their u32 bits (an ignored label may be negative).
      const l = this.#labels!.view();
      for (let k = 0; k < count; k++) l[k] = y[order ? order[from + k] : from + k] >>> 0;
      return;
    }
    const v = this.#values!.view();
    const w = this.width;
    const src = y as Float32Array;
    for (let k = 0; k < count; k++) {
      const s = order ? order[from + k] : from + k;
      v.set(src.subarray(s * w, (s + 1) * w), k * w);
    }
  }

  /** The loss of `batch` outputs at `out`; writes d(loss)/d(out) × gradScale at `dout` (0: value only). */
  forward(out: number, dout: number, batch: number, gradScale = 1): number {
    const op = this.#op!;
    if (this.#bound[0] !== out || this.#bound[1] !== dout) {
      // Only the output's two slots change; the targets, weights and value stay where #make put them.
      op.bind({ ...this.#fixedSlots(), [this.#slots[0]]: out, [this.#slots[1]]: dout });
      this.#bound = [out, dout];
    }
    op.forward(batch);
    const loss = new Float64Array(this.#engine.exports.memory.buffer, this.#out!.ptr, 1)[0];
    if (dout !== 0 && gradScale !== 1) this.#engine.exports.wcnn_scale(dout, batch * this.width, gradScale);
    return loss;
  }

  /** The io slots #make bound (targets, weights, the value). */
  #fixedSlots(): Record<string, number | undefined> {
    const target = (this.#labels ?? this.#values)!.ptr;
    return { target, weight: this.#weights?.ptr, posWeight: this.#posWeights?.ptr, loss: this.#out!.ptr };
  }

  #free(): void {
    this.#op?.dispose();
    for (const b of [this.#labels, this.#values, this.#weights, this.#posWeights, this.#out]) b?.dispose();
    this.#op = this.#labels = this.#values = this.#weights = this.#posWeights = this.#out = null;
    this.#capacity = 0;
  }

  dispose(): void {
    this.#free();
  }
}
