// Operator objects in wasm memory (crates/core/src/operator): a WasmOp owns one operator handle, created
// from a descriptor (validated once in Rust, with checked arithmetic), and runs it over an io block of
// buffer addresses, checked on every call. Refusals become errors naming the caller's `where` (a layer
// path or an ops.* function), the field, the size and the limit; a trap or a dead worker pool poisons the
// engine.
import { EngineTrapError } from './guard.js';
import type { WasmExports } from './exports.js';
import { formatBytes } from './memory.js';

/** The ABI this TS expects (crates/wasm/src/op_exports.rs `ABI_VERSION`). */
export const ABI_VERSION = 2;

/** The flag word of a call (crates/core/src/operator/mod.rs `flags`). */
export const OpFlags = { TRAIN: 1 << 0, ACCUMULATE: 1 << 1 } as const;

/** Refusal codes (crates/core/src/error.rs). */
export const OpError = {
  TooLarge: 1, OutOfMemory: 2, BadGeometry: 3, BadBuffer: 4, BadDescriptor: 5, BadHandle: 6, BadValue: 7, Trapped: 8, PoolDead: 9,
} as const;

/** The fused epilogue field of GEMM-based operators. */
export const Activation = { none: 0, relu: 1 } as const;

/**
 * An operator's definition: its kind, its descriptor's integer fields in order (with what each means, for
 * messages), its float fields, and its io slots in order. Adding an operator is one of these (op-defs.ts),
 * one Rust file and one arm in `operator::create`.
 */
export interface OpDef<F extends string = string, S extends string = string> {
  readonly name: string;
  readonly kind: number;
  readonly ints: Readonly<Record<F, string>>;
  readonly floats?: Readonly<Record<string, string>>;
  readonly slots: readonly S[];
}

/** What an operator needs from its engine: the exports and a way to mark the engine unusable. */
export interface OpHost {
  readonly exports: WasmExports;
  /** @internal */
  _poison(where: string, cause: string): Error;
}

/** A host from bare exports (a layer not yet bound to its engine): a trap refuses this op's calls only. */
export function exportsHost(exports: WasmExports): OpHost {
  return { exports, _poison: (where, cause) => new EngineTrapError(`wasmcnn: this engine trapped in ${where} (${cause}); create a new engine`) };
}

const SUBJECTS = ['', 'an input sample', 'an output sample', 'a parameter tensor', "the kernel's scratch", 'a buffer'];
const BATCH_SUBJECTS = ['', 'the input batch', 'the output batch', 'a parameter tensor', "the kernel's scratch", 'a buffer'];

function destroy(ex: WasmExports, handle: number): void {
  try {
    ex.wcnn_op_destroy(handle);
  } catch {
    // The engine was poisoned or terminated (its exports refuse): its memory goes with it.
  }
}

// Safety net only: an operator that is garbage-collected without dispose() is still destroyed.
const registry = new FinalizationRegistry<{ ex: WasmExports; handle: number }>(({ ex, handle }) => destroy(ex, handle));

const checked = new WeakSet<WasmExports>();

/** An operator handle and its io block, owned by this object (dispose it, or `using`). */
export class WasmOp<F extends string = string, S extends string = string> {
  #handle: number;
  readonly #io: number;
  #view: Uint32Array | null = null;
  readonly #host: OpHost;
  /** The exports as at creation, for dispose (the host's getter refuses after terminate; calls must not run then). */
  readonly #ex: WasmExports;
  readonly #token = {};

  /**
   * Creates the operator. Throws a RangeError (TypeError for an unknown kind or descriptor length) naming
   * `where` and the field when Rust refuses it; nothing stays allocated then.
   */
  constructor(
    host: OpHost,
    readonly def: OpDef<F, S>,
    readonly where: string,
    readonly attrs: Readonly<Record<NoInfer<F>, number>>,
    floats: readonly number[] = [],
  ) {
    const ex = host.exports;
    if (!checked.has(ex)) {
      const v = ex.wcnn_abi_version();
      if (v !== ABI_VERSION) throw new Error(`wasmcnn: the wasm module speaks operator ABI ${v}, this library ${ABI_VERSION} (stale build?)`);
      checked.add(ex);
    }
    this.#host = host;
    this.#ex = ex;
    const ints = (Object.keys(def.ints) as F[]).map((k) => attrs[k]);
    const h = withStaged(ex, ints, floats, (d, f) => ex.wcnn_op_create(def.kind, d, ints.length, f, floats.length));
    if (h < 0) throw this.#refusal(-h, null, ints, floats);
    this.#handle = h;
    this.#io = ex.wcnn_op_io(h) >>> 0;
    registry.register(this, { ex, handle: h }, this.#token);
  }

  get disposed(): boolean {
    return this.#handle === 0;
  }

  /** Writes the io block: the given slots' addresses, 0 (absent) for the others. Calls without `io` use it. */
  bind(io: Partial<Record<S, number>>): void {
    this.#live();
    const view = this.#ioView(this.#host.exports);
    this.def.slots.forEach((s, i) => (view[i] = io[s] ?? 0));
  }

  /** Runs the forward pass on `batch` samples, over `io` (written first) or the block as last bound. */
  forward(batch: number, io?: Partial<Record<S, number>>, flags = 0): void {
    this.#run('forward', batch, io, flags);
  }

  /** Runs the backward pass, over `io` (written first) or the block as last bound. */
  backward(batch: number, io?: Partial<Record<S, number>>, flags = 0): void {
    this.#run('backward', batch, io, flags);
  }

  #live(): void {
    if (this.#handle === 0) throw new Error(`${this.where}: its operator was disposed and cannot be used`);
  }

  #run(pass: 'forward' | 'backward', batch: number, io: Partial<Record<S, number>> | undefined, flags: number): void {
    this.#live();
    if (io) this.bind(io);
    const ex = this.#host.exports;
    const run = pass === 'forward' ? ex.wcnn_op_forward : ex.wcnn_op_backward;
    const code = run.call(ex, this.#handle, this.#io, batch, flags);
    if (code !== 0) throw this.#refusal(code, { pass, batch, flags }, [], []);
  }

  #ioView(ex: WasmExports): Uint32Array {
    // Growth replaces the memory's buffer (shared or not): re-make the view then.
    if (this.#view === null || this.#view.buffer !== ex.memory.buffer) {
      this.#view = new Uint32Array(ex.memory.buffer, this.#io, this.def.slots.length);
    }
    return this.#view;
  }

  /** The error for refusal `code` (create when `call` is null), read back from `wcnn_op_refusal`. */
  #refusal(code: number, call: { pass: string; batch: number; flags: number } | null, ints: readonly number[], floats: readonly number[]): Error {
    const ex = this.#host.exports;
    const [field, subject, bytes, limit] = [0, 1, 2, 3].map((i) => ex.wcnn_op_refusal(i));
    const where = call ? `${this.where} ${call.pass}` : this.where;
    const at = call ? `at batch ${call.batch}, ` : '';
    const names = Object.entries(this.def.ints) as [string, string][];
    const floatNames = Object.entries(this.def.floats ?? {});
    const about = (() => {
      if (field < 0) return '';
      if (call) return ` '${this.def.slots[field] ?? field}'`;
      if (field < names.length) return ` ${names[field][0]} (${names[field][1]}) = ${ints[field] ?? 'missing'}`;
      const f = floatNames[field - names.length];
      return f ? ` ${f[0]} (${f[1]}) = ${floats[field - names.length] ?? 'missing'}` : ' (a field it does not have)';
    })();
    switch (code) {
      case OpError.TooLarge: {
        const what = (call ? BATCH_SUBJECTS : SUBJECTS)[subject] || 'a size';
        const size = bytes > 0 ? ` needs ${formatBytes(bytes)} (${(bytes / 4).toLocaleString('en-US')} floats)` : ' is too large';
        const why = field >= 0 && !call ? `, with${about}` : '';
        return new RangeError(`${where}: ${at}${what}${size}${why}, more than one buffer of this wasm32 build can hold (${formatBytes(limit)})`);
      }
      case OpError.OutOfMemory:
        return new RangeError(`${where}: ${at}out of wasm memory for the kernel's scratch`);
      case OpError.BadGeometry:
        return new RangeError(`${where}: inconsistent geometry:${about || ' a size'} does not follow from the others`);
      case OpError.BadDescriptor:
        return call
          ? new RangeError(`${where}: flags 0x${call.flags.toString(16)} has bits this build does not know`)
          : new TypeError(`${where}: the ${this.def.name} operator refused its descriptor:${about || ` kind ${this.def.kind} or its length`}`);
      case OpError.BadBuffer:
        return new RangeError(`${where}: buffer${about} of ${formatBytes(bytes)} is missing, misaligned, outside wasm memory or overlaps a buffer it writes`);
      case OpError.BadValue:
        return new RangeError(`${where}: an input holds a value the ${this.def.name} operator cannot take (a class index ≥ classes, an argmax not from its forward)`);
      case OpError.BadHandle:
        return new Error(`${where}: the operator handle is not live`);
      case OpError.Trapped:
        return this.#host._poison(where, 'an earlier call trapped in this engine and left it busy');
      case OpError.PoolDead:
        return this.#host._poison(where, 'a worker thread trapped');
      default:
        return this.#host._poison(where, `unknown status ${code}`);
    }
  }

  /** Destroys the operator (twice is fine; never throws, so `using` keeps the error that ended a scope). */
  dispose(): void {
    if (this.#handle === 0) return;
    registry.unregister(this.#token);
    const h = this.#handle;
    this.#handle = 0;
    destroy(this.#ex, h);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Fields a descriptor may have (crates/wasm/src/op_exports.rs `MAX_FIELDS`). */
const MAX_FIELDS = 64;

/**
 * Calls `f` with `ints` (u32) and `floats` (f64) written to the module's staging area (`wcnn_op_stage`:
 * no allocation). Values outside u32 are written as 0xffffffff, which Rust refuses as too large.
 */
function withStaged<T>(ex: WasmExports, ints: readonly number[], floats: readonly number[], f: (ints: number, floats: number) => T): T {
  if (ints.length > MAX_FIELDS || floats.length > MAX_FIELDS) throw new TypeError(`wasmcnn: an operator descriptor has at most ${MAX_FIELDS} fields of each kind`);
  const p = ex.wcnn_op_stage() >>> 0;
  const fp = p + 4 * MAX_FIELDS;
  new Uint32Array(ex.memory.buffer, p, ints.length).set(ints.map((v) => (Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : 0xffffffff)));
  new Float64Array(ex.memory.buffer, fp, floats.length).set(floats);
  return f(ints.length ? p : 0, floats.length ? fp : 0);
}
