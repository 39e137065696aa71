// The optimizer base: state slots as flat f32 buffers parallel to the parameters, the model's tensor layout
// resolved to parameter groups, and one fused wasm call per run of adjacent same-group tensors a step.
import { checkFinite, checkInt, checkNumber, describe } from '../errors.js';
import type { Model } from '../nn/model.js';
import type { Engine } from '../runtime/engine.js';
import { WasmBuffer, type F32Buffer } from '../runtime/memory.js';
import { loadTorchOptimizer, saveTorchOptimizer } from './torch-state.js';
import type { OptimizerConfig, OptimizerName } from './index.js';
import { checkTarget, gapsOf, makeRuns, resolveLayout, type LayoutEntry, type OptimizerTarget, type ResolvedParamGroup, type Run } from './layout.js';

/**
 * What an optimizer steps over: a model (its tensors, by name), an explicit layout, or a bare size (one
 * tensor named 'params' of shape [size]).
 */
export type OptimizerTargetLike = number | OptimizerTarget | Model;

/** An optimizer's complete state as plain data (structured-clone-able), from `saveState()`. */
export interface OptimizerState {
  format: 'wasmcnn.optimizer';
  version: 1;
  type: OptimizerName;
  /** The optimizer's `config` when saved; `loadState` requires the same config except for `lr`. */
  config: OptimizerConfig;
  /** Completed steps. */
  steps: number;
  /** The learning rate of the next step (a schedule may have changed it). */
  lr: number;
  /** The parameter tensors it steps over, in order; `loadState` requires the same names and shapes. */
  tensors: { name: string; shape: number[] }[];
  /** Copies of the state slots by name (e.g. `exp_avg`). */
  slots: Record<string, Float32Array>;
  /** A wrapper's inner optimizer (Lookahead). */
  inner?: OptimizerState;
  /** Scalar state (f64) of the optimizers that keep some (Prodigy's d, Schedule-Free's weight sum, …). */
  scalars?: number[];
  /** Schedule-Free: which weights the parameter buffer held when saved. */
  mode?: 'train' | 'eval';
}

/**
 * What the last step applied, for telemetry: `lr` the effective base rate (the rate times what the method
 * scales it by: Prodigy's and D-Adaptation's d, RAdam's rectification, …), `tensorLr` the effective rate
 * per tensor in layout order (× lrScale, × the trust ratio for LAMB/LARS; 0 for frozen tensors), and
 * `trustRatios` per tensor (LAMB, LARS: 1 where excluded, 0 for frozen tensors). Before any step every rate
 * is the configured one.
 */
export interface LastStep {
  lr: number;
  tensorLr: Float64Array;
  trustRatios?: Float64Array;
  /** The phase switches this step made (SWATS: a parameter group from Adam to SGD); absent when none. */
  switched?: PhaseSwitch[];
}

/** A phase switch: `group` indexes paramGroups (null: the tensors no group matches); `rate` the rate carried. */
export interface PhaseSwitch {
  group: number | null;
  step: number;
  from: string;
  to: string;
  rate: number;
}

/** The layout a target describes (a bare size is one tensor named 'params'). */
export function toTarget(where: string, target: OptimizerTargetLike): OptimizerTarget {
  if (typeof target === 'number') {
    const size = checkInt(where, 'size', target, 0);
    return { size, tensors: [{ name: 'params', offset: 0, length: size, shape: [size] }] };
  }
  if (typeof target !== 'object' || target === null) {
    throw new TypeError(`${where}: expected a model, a layout { size, tensors } or a size, got ${describe(target)}`);
  }
  if ('_paramLayout' in target) return { size: target._buffers.params.length, tensors: target._paramLayout() };
  if (!Array.isArray(target.tensors)) throw new TypeError(`${where}: a layout needs tensors [{ name, offset, length, shape }], got ${describe(target.tensors)}`);
  return checkTarget(where, target);
}

export abstract class Optimizer {
  /** The config type, e.g. 'adam'. */
  readonly type: OptimizerName;
  /** Display name used in messages, e.g. 'Adam'. */
  readonly name: string;
  /** Floats in the parameter buffer this optimizer steps (alignment padding included). */
  readonly size: number;
  /** The tensors it steps over, in order, with their parameter groups resolved. */
  readonly layout: readonly LayoutEntry[];
  protected readonly engine: Engine;
  /** What one step updates: runs of adjacent tensors of one group (frozen tensors excluded). */
  protected readonly runs: readonly Run[];
  /** [start, end) ranges no run covers: padding and frozen tensors (their delta is zero). */
  readonly #gaps: [number, number][];
  readonly #slots = new Map<string, F32Buffer>();
  /** Slots that hold sums of squares or maxima of |g| (never negative: a negative one would give NaN roots). */
  readonly #nonNegative = new Set<string>();
  #steps = 0;
  #lr = 0;
  #disposed = false;

  /** Validates the target and resolves the groups; allocates nothing (subclasses allocate after this). */
  protected constructor(
    engine: Engine,
    type: OptimizerName,
    name: string,
    target: OptimizerTargetLike,
    paramGroups: readonly ResolvedParamGroup[],
    { perTensor = false } = {},
  ) {
    const t = toTarget(name, target);
    this.layout = resolveLayout(name, t.tensors, paramGroups);
    this.runs = makeRuns(this.layout, perTensor);
    this.#gaps = gapsOf(this.runs, t.size);
    this.engine = engine;
    this.type = type;
    this.name = name;
    this.size = t.size;
  }

  /** Completed steps (PyTorch's `state['step']`); the next step is `steps + 1`. */
  get steps(): number {
    return this.#steps;
  }

  /**
   * The base learning rate of the next step (a group's rate is `lr × lrScale`). Settable between steps
   * (a schedule, as with PyTorch's `param_group['lr'] = …`); validated like the constructor's option.
   */
  get lr(): number {
    return this.#lr;
  }
  set lr(v: number) {
    this.#lr = checkNumber(this.name, 'lr', v, 0);
  }

  /** The hyper-parameters as plain JSON, with the current `lr`: a valid config for `createOptimizer`. */
  abstract get config(): OptimizerConfig;

  /**
   * Allocates a named state slot of `length` floats (default: parallel to the parameters), filled with
   * `init`. `nonNegative` marks second-moment slots (sums of squares, running maxima): loadState refuses
   * negative values there.
   */
  protected slot(name: string, init = 0, length = this.size, { nonNegative = false } = {}): F32Buffer {
    const b = this.engine.alloc(length, `${this.name} state '${name}'`);
    if (init !== 0) b.view().fill(init);
    this.#slots.set(name, b);
    if (nonNegative) this.#nonNegative.add(name);
    return b;
  }

  /** The byte address of slot `name` at float `offset`, or 0 (null) when there is no such slot. */
  protected at(name: string, offset: number): number {
    const b = this.#slots.get(name);
    return b ? b.ptr + 4 * offset : 0;
  }

  /**
   * One update of `params` in place from `grads` (both `size` floats in wasm memory). With `delta` (also
   * `size` floats) the applied change `p_after − p_before` is written to it (zero for frozen tensors and
   * padding), for telemetry.
   */
  step(params: F32Buffer, grads: F32Buffer, delta: F32Buffer | null = null): void {
    this.#alive();
    const where = `${this.name}.step`;
    const what: [string, F32Buffer | null][] = [['params', params], ['grads', grads], ['delta', delta]];
    for (const [w, b] of what) {
      if (b === null && w === 'delta') continue;
      // Only this engine's own live buffers: a plain Float32Array has no address here (it would read as 0).
      if (!(b instanceof WasmBuffer) || b.kind !== 'f32') {
        throw new TypeError(`${where}: ${w} must be an f32 buffer of this engine (engine.alloc / engine.tensor), got ${describe(b)}`);
      }
      if (!b.ownedBy(this.engine.heap)) throw new TypeError(`${where}: ${w} belongs to another engine`);
      if (b.disposed) throw new TypeError(`${where}: ${w} was disposed`);
      if (b.length !== this.size) {
        throw new RangeError(`${where}: ${w} has ${b.length} values, this optimizer was built for ${this.size}`);
      }
    }
    if (params === grads || params === delta || grads === delta) throw new TypeError(`${where}: params, grads and delta must be distinct buffers`);
    const t = this.#steps + 1;
    if (delta) {
      const v = delta.view();
      for (const [a, b] of this.#gaps) v.fill(0, a, b);
    }
    this.update(params, grads, delta, t);
    this.#steps = t;
  }

  /** Step `t` over every run (a wrapper overrides this). */
  protected update(params: F32Buffer, grads: F32Buffer, delta: F32Buffer | null, t: number): void {
    const [p, g, d] = [params.ptr, grads.ptr, delta?.ptr ?? 0];
    for (const r of this.runs) {
      const o = 4 * r.offset;
      this.apply(r, p + o, g + o, d && d + o, t);
    }
  }

  /** One kernel call over `run`: p, g, d are byte addresses of its first float (d 0 without telemetry). */
  protected abstract apply(run: Run, p: number, g: number, d: number, t: number): void;

  /** The rates (and trust ratios) of the last step; see `LastStep`. */
  lastStep(): LastStep {
    this.#alive();
    const lr = this.lr;
    return { lr, tensorLr: Float64Array.from(this.layout, (t) => (t.frozen ? 0 : lr * t.lrScale)) };
  }

  /** Scalar state to save (subclasses that keep some override this and `restoreScalars`). */
  protected saveScalars(): number[] | undefined {
    return undefined;
  }
  protected restoreScalars(_s: OptimizerState): void {}
  /** @internal Throws unless `s` carries scalar state this optimizer can restore (subclasses extend). */
  protected checkScalars(s: OptimizerState, where: string): void {
    const mine = this.saveScalars();
    const theirs = s.scalars;
    if ((mine === undefined) !== (theirs === undefined) || (mine && (!Array.isArray(theirs) || theirs.length !== mine.length || !theirs.every((v) => typeof v === 'number' && Number.isFinite(v))))) {
      throw new TypeError(`${where}: scalars must be ${mine ? `${mine.length} finite numbers` : 'absent'}, got ${describe(theirs)}`);
    }
  }

  /** Copies of the state slots by name (e.g. `exp_avg`), for inspection. */
  state(): Record<string, Float32Array> {
    this.#alive();
    return Object.fromEntries([...this.#slots].map(([k, b]) => [k, b.read()]));
  }

  /**
   * The state as torch.optim's state_dict in a safetensors file (`state.<i>.<slot>` tensors, `param_groups`
   * with `param_names` in the metadata), so training can continue in PyTorch (SGD, Adagrad, RMSprop, Adam,
   * AdamW, Adamax, Adadelta with PyTorch's conventions).
   */
  saveTorchState(): Uint8Array {
    this.#alive();
    return saveTorchOptimizer(this);
  }

  /** Restores a torch.optim state saved by `saveTorchState` (or by PyTorch with the same naming). */
  loadTorchState(bytes: ArrayBufferLike | ArrayBufferView): void {
    this.#alive();
    loadTorchOptimizer(this, bytes);
  }

  /** Everything needed to continue exactly where this optimizer is, as plain data. */
  saveState(): OptimizerState {
    this.#alive();
    const tensors = this.layout.map((t) => ({ name: t.name, shape: [...t.shape] }));
    const s: OptimizerState = { format: 'wasmcnn.optimizer', version: 1, type: this.type, config: this.config, steps: this.#steps, lr: this.lr, tensors, slots: this.state() };
    const scalars = this.saveScalars();
    if (scalars) s.scalars = scalars;
    return s;
  }

  /**
   * Restores a `saveState()`: continuing then gives bitwise the parameters of never having stopped. The
   * state is checked in full first (format, type, config except lr, slot names and lengths); on any
   * mismatch this throws and the optimizer is unchanged.
   */
  loadState(s: OptimizerState): void {
    this.#alive();
    this._checkState(s, `${this.name}.loadState`);
    this._restoreState(s);
  }

  /** @internal Throws unless `s` is a state this optimizer can restore. */
  _checkState(s: OptimizerState, where: string): void {
    if (typeof s !== 'object' || s === null) throw new TypeError(`${where}: expected an OptimizerState object, got ${describe(s)}`);
    if (s.format !== 'wasmcnn.optimizer') throw new TypeError(`${where}: format must be 'wasmcnn.optimizer', got ${describe(s.format)}`);
    if (s.version !== 1) throw new RangeError(`${where}: unsupported version ${describe(s.version)} (this library reads 1)`);
    if (s.type !== this.type) throw new TypeError(`${where}: the state is of a '${s.type}' optimizer, this one is '${this.type}'`);
    const diff = configDiff(s.config, this.config, 'config');
    if (diff) throw new TypeError(`${where}: the state's config differs from this optimizer's (lr aside): ${diff}`);
    checkInt(where, 'steps', s.steps, 0);
    checkNumber(where, 'lr', s.lr, 0);
    // Same lengths are not enough: a state saved for another model's tensors would load into the wrong ones.
    const mine = this.layout.map((t) => `${t.name} [${t.shape.join(', ')}]`);
    const theirs = Array.isArray(s.tensors) ? s.tensors.map((t) => `${t?.name} [${Array.isArray(t?.shape) ? t.shape.join(', ') : '?'}]`) : null;
    if (theirs === null) throw new TypeError(`${where}: tensors must be the list of parameter tensors, got ${describe(s.tensors)}`);
    const at = mine.findIndex((m, i) => m !== theirs[i]);
    if (at >= 0 || theirs.length !== mine.length) {
      const i = at >= 0 ? at : mine.length;
      throw new RangeError(`${where}: the state was saved for other parameter tensors: #${i} is ${theirs[i] ?? 'missing'} there, ${mine[i] ?? 'missing'} here`);
    }
    if (typeof s.slots !== 'object' || s.slots === null) throw new TypeError(`${where}: slots must be an object, got ${describe(s.slots)}`);
    const want = [...this.#slots.keys()].sort();
    const got = Object.keys(s.slots).sort();
    if (want.join() !== got.join()) {
      throw new TypeError(`${where}: the state has slots [${got.join(', ')}], this optimizer has [${want.join(', ')}]`);
    }
    for (const [k, b] of this.#slots) {
      const v = s.slots[k];
      if (!(v instanceof Float32Array || Array.isArray(v)) || v.length !== b.length) {
        throw new RangeError(`${where}: slot '${k}' has ${(v as { length?: number })?.length} values, expected ${b.length}`);
      }
      // The values too: NaN or 1e39 would silently corrupt the parameters, a negative second moment freeze them.
      checkFinite(where, `slot '${k}'`, v);
      if (this.#nonNegative.has(k)) {
        const i = Array.prototype.findIndex.call(v, (x: number) => x < 0);
        if (i >= 0) throw new RangeError(`${where}: slot '${k}' holds squares and must be ≥ 0, element ${i} is ${v[i]}`);
      }
    }
    this.checkScalars(s, where);
  }

  /** @internal Restores a state `_checkState` accepted. */
  _restoreState(s: OptimizerState): void {
    for (const [k, b] of this.#slots) b.write(s.slots[k]);
    this.#steps = s.steps;
    this.restoreLr(s.lr);
    this.restoreScalars(s);
  }

  /** Sets the learning rate from a loaded state (an optimizer whose rate is computed overrides this). */
  protected restoreLr(lr: number): void {
    this.lr = lr;
  }

  protected alive(): void {
    this.#alive();
  }

  #alive(): void {
    if (this.#disposed) throw new Error(`wasmcnn: ${this.name} optimizer was disposed and cannot be used`);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const b of this.#slots.values()) b.dispose();
    this.#slots.clear();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The first difference between two configs (as JSON-like data), ignoring `lr` at every level; null if equal. */
function configDiff(a: unknown, b: unknown, path: string): string | null {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    if (Array.isArray(a) !== Array.isArray(b)) return `${path}: ${describe(a)} vs ${describe(b)}`;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (k === 'lr') continue;
      const va = (a as Record<string, unknown>)[k];
      const vb = (b as Record<string, unknown>)[k];
      const d = configDiff(va, vb, Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(a, b) ? null : `${path} is ${describe(a)} there, ${describe(b)} here`;
}
