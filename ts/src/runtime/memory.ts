// Ownership of wasm memory: every allocation belongs to exactly one handle, freed by dispose().
import { checkFinite, describe } from '../errors.js';
import type { WasmExports } from './exports.js';
import { Health } from './guard.js';

/**
 * The most bytes one buffer may span in any build: Rust's allocator takes at most isize::MAX bytes, which on
 * wasm32 is 2 GiB − 1, rounded down to the 16-byte alignment (the Rust side's `MAX_BUFFER_BYTES`).
 */
export const MAX_BUFFER_BYTES = 2 ** 31 - 16;

/** `n` bytes as a short human figure (1.5 GiB, 12 MiB, 640 B) for size errors. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${Number(n.toPrecision(3))} ${units[i]}`;
}

/** Views over the wasm heap, re-made after memory growth (growth detaches the old ArrayBuffer). */
export class Heap {
  #f32: Float32Array;
  #u32: Uint32Array;
  /**
   * @param maxBytes the most one buffer may span in this build (`MAX_BUFFER_BYTES`).
   */
  constructor(
    readonly exports: WasmExports,
    readonly maxBytes: number = MAX_BUFFER_BYTES,
    readonly health: Health = new Health(),
  ) {
    this.#f32 = new Float32Array(exports.memory.buffer);
    this.#u32 = new Uint32Array(exports.memory.buffer);
  }
  get f32(): Float32Array {
    this.health.check();
    if (this.#f32.buffer !== this.exports.memory.buffer) this.#refresh();
    return this.#f32;
  }
  get u32(): Uint32Array {
    this.health.check();
    if (this.#u32.buffer !== this.exports.memory.buffer) this.#refresh();
    return this.#u32;
  }
  #refresh(): void {
    this.#f32 = new Float32Array(this.exports.memory.buffer);
    this.#u32 = new Uint32Array(this.exports.memory.buffer);
  }
  /**
   * Throws a RangeError unless `elements` values of 4 bytes fit one buffer of this build: the check every
   * size goes through before anything is allocated (a byte count handed to wasm as an i32 would wrap).
   */
  checkElements(where: string, what: string, elements: number): void {
    if (!Number.isSafeInteger(elements) || elements < 0) {
      throw new RangeError(`${where}: ${what} has ${describe(elements)} elements, expected a non-negative integer`);
    }
    if (elements * 4 > this.maxBytes) {
      throw new RangeError(
        `${where}: ${what}: ${elements.toLocaleString('en-US')} floats (${formatBytes(elements * 4)}), ` +
          `beyond the ${formatBytes(this.maxBytes)} one buffer of this wasm32 build can hold`,
      );
    }
  }
  /** Allocates `bytes` (zeroed, 16-byte aligned); throws a RangeError when the heap cannot grow. */
  alloc(bytes: number, what: string): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > this.maxBytes) {
      throw new RangeError(`wasmcnn: cannot allocate ${describe(bytes)} bytes for ${what}: the limit of one buffer is ${formatBytes(this.maxBytes)}`);
    }
    // Addresses at or above 2 GiB come back as negative i32: normalise to [0, 2^32).
    const p = this.exports.wcnn_alloc(Math.max(bytes, 4)) >>> 0;
    if (p === 0) {
      throw new RangeError(`wasmcnn: out of wasm memory allocating ${formatBytes(bytes)} for ${what}`);
    }
    return p;
  }
  /** Returns a block; on a poisoned or terminated engine nothing is called (its heap is abandoned, dispose must not throw). */
  free(p: number, bytes: number): void {
    if (!this.health.usable) return;
    this.exports.wcnn_free(p, Math.max(bytes, 4));
  }
  /** Bytes currently held by handles (for leak checks). */
  liveBytes(): number {
    return this.exports.wcnn_live_bytes() >>> 0;
  }
}

// Safety net only: a handle that is garbage-collected without dispose() still returns its memory.
const registry = new FinalizationRegistry<{ heap: Heap; ptr: number; bytes: number }>((h) => h.heap.free(h.ptr, h.bytes));

type Elem = 'f32' | 'u32';

/** A typed buffer in wasm memory, owned by this handle. */
export class WasmBuffer<E extends Elem = 'f32'> {
  #ptr: number;
  readonly length: number;
  readonly kind: E;
  readonly #heap: Heap;
  readonly #what: string;
  readonly #token = {};

  constructor(heap: Heap, kind: E, length: number, what: string) {
    heap.checkElements('wasmcnn', what, length);
    this.#heap = heap;
    this.kind = kind;
    this.length = length;
    this.#what = what;
    this.#ptr = heap.alloc(length * 4, what);
    registry.register(this, { heap, ptr: this.#ptr, bytes: length * 4 }, this.#token);
  }

  /** Byte offset in wasm memory; throws if disposed. */
  get ptr(): number {
    if (this.#ptr === 0) throw new Error(`wasmcnn: ${this.#what} was disposed and cannot be used`);
    return this.#ptr;
  }
  get disposed(): boolean {
    return this.#ptr === 0;
  }
  /** True when this buffer lives in `heap` (an engine's), so its address means something there. */
  ownedBy(heap: Heap): boolean {
    return this.#heap === heap;
  }

  /** A live view (valid until the next allocation may grow memory). Prefer read()/write() outside hot code. */
  view(): E extends 'f32' ? Float32Array : Uint32Array {
    const start = this.ptr >>> 2;
    const arr = this.kind === 'f32' ? this.#heap.f32 : this.#heap.u32;
    return arr.subarray(start, start + this.length) as E extends 'f32' ? Float32Array : Uint32Array;
  }
  /** A copy of the contents. */
  read(): E extends 'f32' ? Float32Array : Uint32Array {
    return this.view().slice() as E extends 'f32' ? Float32Array : Uint32Array;
  }
  /** Copies `src` in at element `offset` (an integer); f32 buffers take only values finite in float32. */
  write(src: ArrayLike<number>, offset = 0): void {
    const where = `${this.#what}.write`;
    if (src === null || typeof src !== 'object' || typeof (src as { length?: unknown }).length !== 'number') {
      throw new TypeError(`${where}: src must be an array or typed array of numbers, got ${describe(src)}`);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + src.length > this.length) {
      throw new RangeError(`${where}: writing ${src.length} values at offset ${describe(offset)} into a buffer of length ${this.length}`);
    }
    if (this.kind === 'f32') checkFinite(where, 'src', src);
    (this.view() as Float32Array | Uint32Array).set(src, offset);
  }

  dispose(): void {
    if (this.#ptr === 0) return;
    registry.unregister(this.#token);
    this.#heap.free(this.#ptr, this.length * 4);
    this.#ptr = 0;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

export type F32Buffer = WasmBuffer<'f32'>;
export type U32Buffer = WasmBuffer<'u32'>;

/** Collects temporaries and frees them all at once (used by the functional API). */
export class Scope {
  readonly #owned: WasmBuffer<Elem>[] = [];
  constructor(private readonly heap: Heap) {}
  f32(length: number, what: string, init?: ArrayLike<number>): F32Buffer {
    const b = new WasmBuffer(this.heap, 'f32', length, what);
    this.#owned.push(b);
    if (init) b.write(init);
    return b;
  }
  u32(length: number, what: string, init?: ArrayLike<number>): U32Buffer {
    const b = new WasmBuffer(this.heap, 'u32', length, what);
    this.#owned.push(b);
    if (init) b.write(init);
    return b;
  }
  dispose(): void {
    for (const b of this.#owned) b.dispose();
    this.#owned.length = 0;
  }
}
