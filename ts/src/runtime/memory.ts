// Ownership of wasm memory: every allocation belongs to exactly one handle, freed by dispose().
import type { WasmExports } from './exports.js';

/** Views over the wasm heap, re-made after memory growth (growth detaches the old ArrayBuffer). */
export class Heap {
  #f32: Float32Array;
  #u32: Uint32Array;
  constructor(readonly exports: WasmExports) {
    this.#f32 = new Float32Array(exports.memory.buffer);
    this.#u32 = new Uint32Array(exports.memory.buffer);
  }
  get f32(): Float32Array {
    if (this.#f32.buffer !== this.exports.memory.buffer) this.#refresh();
    return this.#f32;
  }
  get u32(): Uint32Array {
    if (this.#u32.buffer !== this.exports.memory.buffer) this.#refresh();
    return this.#u32;
  }
  #refresh(): void {
    this.#f32 = new Float32Array(this.exports.memory.buffer);
    this.#u32 = new Uint32Array(this.exports.memory.buffer);
  }
  /** Allocates `bytes` (zeroed, 16-byte aligned); throws a RangeError when the heap cannot grow. */
  alloc(bytes: number, what: string): number {
    const p = this.exports.wcnn_alloc(Math.max(bytes, 4));
    if (p === 0) {
      throw new RangeError(`wasmcnn: out of wasm memory allocating ${bytes} bytes for ${what}`);
    }
    return p;
  }
  free(p: number, bytes: number): void {
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
  /** Copies `src` in at element `offset`. */
  write(src: ArrayLike<number>, offset = 0): void {
    if (offset < 0 || offset + src.length > this.length) {
      throw new RangeError(`wasmcnn: writing ${src.length} values at ${offset} into ${this.#what} of length ${this.length}`);
    }
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
