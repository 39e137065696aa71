// Safetensors (huggingface/safetensors) read and write, in any JavaScript runtime.
//
// Layout: an unsigned little-endian u64 N, N bytes of UTF-8 JSON, then the data. The JSON is an object of
// `name: { dtype, shape, data_offsets: [begin, end) }` (offsets relative to the data, after the header), with
// an optional `__metadata__` mapping strings to strings. The reader enforces what the official reader
// (safetensors 0.8, `safetensors/src/tensor.rs`) enforces: N ≤ 100,000,000; the header inside the file,
// valid UTF-8 and JSON, an object; known dtypes; shapes and offsets of non-negative integers (here: safe
// integers, below 2^53); dtype size × element count = end − begin with no overflow; the tensors, sorted by
// offset, covering the data exactly — no holes, overlaps or trailing bytes. Like the official reader it
// ignores unknown fields in a tensor's entry, tolerates JSON whitespace around the header, and keeps the
// last of duplicate keys (a duplicate pointing elsewhere leaves a hole, which is refused). It also refuses
// names with unpaired surrogate escapes (`"\ud800"`), which serde_json rejects and JSON.parse would accept.
import { describe } from '../errors.js';
import { DTYPES, NATIVE, bf16ToF32, dtypeBits, dtypeRank, f16ToF32, isDtype, isNative, type Dtype, type NativeDtype } from './dtype.js';

/** The official limit on the JSON header's size (bytes). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA = '__metadata__';
const LONE_SURROGATE = /\p{Cs}/u;
const DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();

/** A parsed file: tensors in the order of their data, and `__metadata__` (null when absent). */
export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string> | null;
}

/** One tensor of a parsed file: its dtype, shape and stored bytes (a view into the parsed buffer, not a copy). */
export class SafeTensor {
  readonly numel: number;
  readonly #where: string;

  constructor(
    readonly name: string,
    readonly dtype: Dtype,
    readonly shape: readonly number[],
    /** The little-endian, row-major bytes as stored. */
    readonly bytes: Uint8Array,
    where = 'SafeTensor',
  ) {
    const at = `tensor '${name}'`;
    if (!isDtype(dtype)) throw new TypeError(`${where}: ${at} has unknown dtype ${describe(dtype)} (known: ${DTYPES.join(', ')})`);
    const size = byteSize(where, at, dtype, nonNegativeInts(where, `${at} shape`, shape));
    if (!(bytes instanceof Uint8Array) || bytes.length !== size) {
      throw new RangeError(`${where}: ${at} has ${describe(bytes)} of ${bytes?.length} bytes; ${dtype} of shape [${shape.join(', ')}] needs ${size}`);
    }
    this.numel = shape.reduce((a, d) => a * d, 1);
    this.#where = where;
  }

  /**
   * The values as a new Float32Array: F32 as stored (NaN payloads too); F16 and BF16 widened exactly; F64
   * rounded to nearest (a finite value beyond float32's range is a RangeError, not Infinity); integers and
   * BOOL when exactly representable (|v| ≤ 2^24 always is), else a RangeError. Other dtypes: TypeError.
   */
  toFloat32(): Float32Array {
    switch (this.dtype) {
      case 'F32': return new Float32Array(this.bytes.slice().buffer);
      case 'F16': return f16ToF32(this.bytes, this.numel);
      case 'BF16': return bf16ToF32(this.bytes, this.numel);
    }
    const wide = this.toFloat64();
    const out = new Float32Array(wide);
    for (let i = 0; i < wide.length; i++) {
      const v = wide[i];
      if (out[i] === v || Number.isNaN(v)) continue;
      if (this.dtype === 'F64' && Number.isFinite(out[i])) continue;
      const why = this.dtype === 'F64' ? 'beyond float32\'s range' : 'not exactly representable in float32';
      throw new RangeError(`${this.#where}: tensor '${this.name}' (${this.dtype}) element ${i} is ${v}, ${why}`);
    }
    return out;
  }

  /**
   * The values as a new Float64Array: every float dtype exactly; integers exactly, I64/U64 beyond 2^53 − 1 a
   * RangeError; BOOL as 0/1 (any non-zero byte is true). F8, F4, F6 and C64 have no conversion: TypeError.
   */
  toFloat64(): Float64Array {
    const d = this.dtype;
    if (d === 'F16' || d === 'BF16' || d === 'F32') return new Float64Array(this.toFloat32());
    if (!isNative(d)) {
      throw new TypeError(`${this.#where}: tensor '${this.name}' has dtype ${d}, which has no conversion to numbers here (its bytes are in .bytes)`);
    }
    const typed = new NATIVE[d](this.bytes.slice().buffer);
    if (d === 'BOOL') return Float64Array.from(typed as Uint8Array, (b) => (b === 0 ? 0 : 1));
    if (d !== 'I64' && d !== 'U64') return new Float64Array(typed as ArrayLike<number>);
    const out = new Float64Array(typed.length);
    (typed as BigInt64Array | BigUint64Array).forEach((b, i) => {
      const v = Number(b);
      if (!Number.isSafeInteger(v)) throw new RangeError(`${this.#where}: tensor '${this.name}' (${d}) element ${i} is ${b}, beyond ±(2^53 − 1)`);
      out[i] = v;
    });
    return out;
  }

  /** The single value of a one-element tensor (a 0-dim `step` or `num_batches_tracked`), as toFloat64 reads it. */
  scalar(): number {
    if (this.numel !== 1) throw new RangeError(`${this.#where}: tensor '${this.name}' has shape [${this.shape.join(', ')}], expected one element`);
    return this.toFloat64()[0];
  }
}

export interface ParseOptions {
  /** Names the source in error messages (default 'parseSafetensors'). */
  where?: string;
}

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
  size: number;
}

/**
 * Parses a safetensors file held in memory. Every check passes before anything is returned; a bad file is a
 * TypeError (wrong structure or type: UTF-8, JSON, fields, dtype) or a RangeError (sizes and offsets) naming
 * the tensor or header field and what was expected. The tensors' bytes are views into `input`.
 */
export function parseSafetensors(input: ArrayBufferLike | ArrayBufferView, opts: ParseOptions = {}): SafetensorsFile {
  const where = opts.where ?? 'parseSafetensors';
  const buf = asBytes(where, input);
  if (buf.length < 8) throw new RangeError(`${where}: ${buf.length} bytes is too short: a safetensors file begins with an 8-byte header length`);
  const lengthField = new DataView(buf.buffer, buf.byteOffset, 8);
  const lo = lengthField.getUint32(0, true);
  const hi = lengthField.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES) {
    const n = (BigInt(hi) << 32n) | BigInt(lo);
    throw new RangeError(`${where}: the header length field is ${n} bytes, over the format's limit of ${MAX_HEADER_BYTES}`);
  }
  if (8 + lo > buf.length) {
    throw new RangeError(`${where}: the header length field is ${lo} bytes, beyond the file (${buf.length - 8} bytes follow the field)`);
  }
  const header = parseHeader(where, buf.subarray(8, 8 + lo));
  let metadata: Record<string, string> | null = null;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA) metadata = checkMetadata(where, info, 'the header\'s __metadata__');
    else entries.push(checkEntry(where, name, info));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let start = 0;
  let previous: Entry | null = null;
  for (const e of entries) {
    const at = `tensor '${e.name}' (data_offsets [${e.begin}, ${e.end}])`;
    if (e.end < e.begin) throw new RangeError(`${where}: ${at} ends before it begins`);
    if (e.begin > start) {
      throw new RangeError(`${where}: ${at} leaves bytes [${start}, ${e.begin}) of the data to no tensor; the format allows no holes`);
    }
    if (e.begin < start) throw new RangeError(`${where}: ${at} overlaps tensor '${previous?.name}', which ends at byte ${start}`);
    if (e.end - e.begin !== e.size) {
      throw new RangeError(`${where}: ${at} spans ${e.end - e.begin} bytes; ${e.dtype} of shape [${e.shape.join(', ')}] needs ${e.size}`);
    }
    start = e.end;
    previous = e;
  }
  const dataStart = 8 + lo;
  const dataLength = buf.length - dataStart;
  if (start > dataLength) {
    throw new RangeError(`${where}: the data is truncated: tensor '${previous?.name}' ends at byte ${start} of the data, which has ${dataLength} bytes`);
  }
  if (start < dataLength) {
    throw new RangeError(`${where}: ${dataLength - start} bytes follow the last tensor's data; the tensors must cover the data exactly`);
  }
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    tensors.set(e.name, new SafeTensor(e.name, e.dtype, e.shape, buf.subarray(dataStart + e.begin, dataStart + e.end), where));
  }
  return { tensors, metadata };
}

function asBytes(where: string, input: unknown): Uint8Array {
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && input instanceof SharedArrayBuffer)) {
    return new Uint8Array(input);
  }
  throw new TypeError(`${where}: expected the file's bytes (an ArrayBuffer or a typed array), got ${describe(input)}`);
}

function parseHeader(where: string, bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    // A copy: TextDecoder refuses views of shared memory.
    text = DECODER.decode(bytes.slice());
  } catch {
    throw new TypeError(`${where}: the header is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`${where}: the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new TypeError(`${where}: the header must be a JSON object of tensors, got ${describe(header)}`);
  }
  return header as Record<string, unknown>;
}

function checkString(where: string, what: string, s: string): string {
  if (LONE_SURROGATE.test(s)) throw new TypeError(`${where}: ${what} ${JSON.stringify(s)} holds an unpaired UTF-16 surrogate`);
  return s;
}

/** `__metadata__`: null (absent) or an object mapping strings to strings. */
function checkMetadata(where: string, m: unknown, what: string): Record<string, string> | null {
  if (m === null) return null;
  if (typeof m !== 'object' || Array.isArray(m)) throw new TypeError(`${where}: ${what} must map strings to strings, got ${describe(m)}`);
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') throw new TypeError(`${where}: ${what} must map strings to strings; '${k}' is ${describe(v)}`);
    out.push([checkString(where, `${what} key`, k), checkString(where, `${what} '${k}'`, v)]);
  }
  // fromEntries defines own properties, so a key '__proto__' stays a key.
  return Object.fromEntries(out);
}

function nonNegativeInts(where: string, what: string, v: unknown, length?: number): number[] {
  const form = length === undefined ? 'an array of non-negative integers' : `an array of ${length} non-negative integers`;
  if (!Array.isArray(v) || (length !== undefined && v.length !== length)) throw new TypeError(`${where}: ${what} must be ${form}, got ${describe(v)}`);
  return v.map((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d)) throw new TypeError(`${where}: ${what}[${i}] must be an integer, got ${describe(d)}`);
    if (d < 0 || d > Number.MAX_SAFE_INTEGER) throw new RangeError(`${where}: ${what}[${i}] must be in [0, 2^53 − 1], got ${d}`);
    return d + 0; // -0 → 0
  });
}

function checkEntry(where: string, name: string, info: unknown): Entry {
  const at = `tensor '${checkString(where, 'tensor name', name)}'`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw new TypeError(`${where}: ${at} must be an object { dtype, shape, data_offsets }, got ${describe(info)}`);
  }
  const o = info as Record<string, unknown>;
  if (!isDtype(o.dtype)) throw new TypeError(`${where}: ${at} has unknown dtype ${describe(o.dtype)} (known: ${DTYPES.join(', ')})`);
  const shape = nonNegativeInts(where, `${at} shape`, o.shape);
  const [begin, end] = nonNegativeInts(where, `${at} data_offsets`, o.data_offsets, 2);
  return { name, dtype: o.dtype, shape, begin, end, size: byteSize(where, at, o.dtype, shape) };
}

/** dtype size × element count, refused where the product leaves the safe integers (left to right, as the official reader). */
function byteSize(where: string, at: string, dtype: Dtype, shape: readonly number[]): number {
  const overflow = () => new RangeError(`${where}: ${at} of shape [${shape.join(', ')}] overflows: its byte size is beyond 2^53`);
  let numel = 1;
  for (const d of shape) {
    if (d !== 0 && numel > Number.MAX_SAFE_INTEGER / d) throw overflow();
    numel *= d;
  }
  const bits = dtypeBits(dtype);
  if (numel > Number.MAX_SAFE_INTEGER / bits) throw overflow();
  if ((numel * bits) % 8 !== 0) throw new RangeError(`${where}: ${at} holds ${numel} ${dtype} values, which do not end on a byte boundary`);
  return (numel * bits) / 8;
}

/** A tensor to write: `data` as values (the dtype's own typed array, or plain numbers), or raw `bytes`. */
export interface TensorEntry {
  dtype: Dtype;
  shape: readonly number[];
  /**
   * Values in row-major order: the dtype's typed array (copied as is: Float32Array for F32, BigInt64Array
   * for I64, …) or any array-like of numbers (bigints also for I64/U64, booleans for BOOL), converted with
   * checks: integers in range, F32 values within float32's range (NaN and ±Infinity are kept).
   */
  data?: ArrayLike<number | bigint | boolean>;
  /** Or the raw little-endian bytes (any dtype; how F16, BF16 and F8 are written). A parsed SafeTensor has these. */
  bytes?: Uint8Array;
}
export type NamedTensorEntry = TensorEntry & { name: string };
/** An array of named entries, a Map (a parsed file's `tensors`) or a plain object, name → entry. */
export type TensorEntries = readonly NamedTensorEntry[] | ReadonlyMap<string, TensorEntry> | Readonly<Record<string, TensorEntry>>;

export interface SerializeOptions {
  /** Names the caller in error messages (default 'serializeSafetensors'). */
  where?: string;
}

const INT_RANGE: Partial<Record<NativeDtype, [number, number]>> = {
  I8: [-128, 127], U8: [0, 255], I16: [-32768, 32767], U16: [0, 65535], I32: [-(2 ** 31), 2 ** 31 - 1], U32: [0, 2 ** 32 - 1],
};
const BIG_RANGE = { I64: [-(2n ** 63n), 2n ** 63n - 1n], U64: [0n, 2n ** 64n - 1n] } as const;

/**
 * Writes a safetensors file as the official writer does: tensors ordered by dtype alignment (largest
 * first), then by name (UTF-8 bytes); `__metadata__` first (its keys sorted here; the official writer's
 * order is a HashMap's); the compact JSON header padded with spaces to a multiple of 8 bytes, so every
 * tensor's data is aligned to its element size. Everything is checked before anything is written.
 */
export function serializeSafetensors(tensors: TensorEntries, metadata?: Readonly<Record<string, string>> | null, opts: SerializeOptions = {}): Uint8Array<ArrayBuffer> {
  const where = opts.where ?? 'serializeSafetensors';
  const named = entriesOf(where, tensors).map(([name, t]) => {
    const at = `tensor '${name}'`;
    if (typeof t !== 'object' || t === null) throw new TypeError(`${where}: ${at} must be an object { dtype, shape, data }, got ${describe(t)}`);
    if (!isDtype(t.dtype)) throw new TypeError(`${where}: ${at} has unknown dtype ${describe(t.dtype)} (known: ${DTYPES.join(', ')})`);
    const shape = nonNegativeInts(where, `${at} shape`, t.shape);
    const size = byteSize(where, at, t.dtype, shape);
    return { name, key: ENCODER.encode(name), dtype: t.dtype, shape, bytes: encodeData(where, at, t, shape, size) };
  });
  const meta = metadata === undefined ? null : checkMetadata(where, metadata, 'metadata');
  named.sort((a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareBytes(a.key, b.key));
  const parts: string[] = [];
  if (meta !== null) {
    const keys = Object.keys(meta).map((k) => ({ k, key: ENCODER.encode(k) })).sort((a, b) => compareBytes(a.key, b.key));
    parts.push(`"${METADATA}":{${keys.map(({ k }) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of named) {
    const info = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(info)}`);
    offset += t.bytes.length;
  }
  const json = ENCODER.encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.length / 8) * 8;
  if (n > MAX_HEADER_BYTES) throw new RangeError(`${where}: the header would be ${n} bytes, over the format's limit of ${MAX_HEADER_BYTES}`);
  let out: Uint8Array<ArrayBuffer>;
  try {
    out = new Uint8Array(8 + n + offset);
  } catch {
    throw new RangeError(`${where}: cannot allocate ${8 + n + offset} bytes for the file`);
  }
  new DataView(out.buffer).setUint32(0, n, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const t of named) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

function entriesOf(where: string, tensors: unknown): [string, TensorEntry][] {
  let list: [unknown, unknown][];
  if (Array.isArray(tensors)) list = tensors.map((t: unknown) => [(t as { name?: unknown } | null)?.name, t]);
  else if (tensors instanceof Map) list = [...tensors];
  else if (typeof tensors === 'object' && tensors !== null) list = Object.entries(tensors);
  else throw new TypeError(`${where}: tensors must be an array of { name, dtype, shape, data }, a Map or an object, got ${describe(tensors)}`);
  const seen = new Set<string>();
  return list.map(([name, t], i) => {
    if (typeof name !== 'string') throw new TypeError(`${where}: tensor ${i} must have a string name, got ${describe(name)}`);
    if (name === METADATA) throw new TypeError(`${where}: '${METADATA}' is reserved for metadata and cannot name a tensor`);
    if (seen.has(name)) throw new TypeError(`${where}: tensor name '${name}' appears twice`);
    seen.add(checkString(where, 'tensor name', name));
    return [name, t as TensorEntry];
  });
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The bytes to write for one entry, after checking its length and every value. */
function encodeData(where: string, at: string, t: TensorEntry, shape: readonly number[], size: number): Uint8Array {
  if ((t.data === undefined) === (t.bytes === undefined)) throw new TypeError(`${where}: ${at} needs exactly one of data (values) or bytes (raw)`);
  if (t.bytes !== undefined) {
    if (!(t.bytes instanceof Uint8Array)) throw new TypeError(`${where}: ${at} bytes must be a Uint8Array, got ${describe(t.bytes)}`);
    if (t.bytes.length !== size) throw new RangeError(`${where}: ${at} has ${t.bytes.length} bytes; ${t.dtype} of shape [${shape.join(', ')}] needs ${size}`);
    return t.bytes;
  }
  const d = t.dtype;
  if (!isNative(d)) throw new TypeError(`${where}: ${at}: ${d} values must be given as raw little-endian bytes (bytes: Uint8Array)`);
  const data = t.data as ArrayLike<unknown>;
  if (typeof data !== 'object' || data === null || typeof data.length !== 'number') {
    throw new TypeError(`${where}: ${at} data must be a typed array or an array of numbers, got ${describe(data)}`);
  }
  const numel = size / (dtypeBits(d) / 8);
  if (data.length !== numel) throw new RangeError(`${where}: ${at} has ${data.length} values; shape [${shape.join(', ')}] needs ${numel}`);
  const Native = NATIVE[d];
  if (data instanceof Native && d !== 'BOOL') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Native(numel);
  for (let i = 0; i < numel; i++) out[i] = convert(where, `${at} element ${i}`, d, data[i]) as never;
  return new Uint8Array(out.buffer);
}

function convert(where: string, at: string, d: NativeDtype, v: unknown): number | bigint {
  if (d === 'I64' || d === 'U64') {
    const [lo, hi] = BIG_RANGE[d];
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`${where}: ${at} must be a safe integer or a bigint, got ${v}`);
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new TypeError(`${where}: ${at} must be an integer, got ${describe(v)}`);
    const b = BigInt(v);
    if (b < lo || b > hi) throw new RangeError(`${where}: ${at} is ${b}, outside ${d}'s range [${lo}, ${hi}]`);
    return b;
  }
  if (d === 'BOOL') {
    if (v === true || v === 1) return 1;
    if (v === false || v === 0) return 0;
    throw new TypeError(`${where}: ${at} must be a boolean (or 0 / 1), got ${describe(v)}`);
  }
  if (typeof v !== 'number') throw new TypeError(`${where}: ${at} must be a number, got ${describe(v)}`);
  if (d === 'F32') {
    if (Number.isFinite(v) && !Number.isFinite(Math.fround(v))) throw new RangeError(`${where}: ${at} is ${v}, beyond float32's range`);
    return v;
  }
  if (d === 'F64') return v;
  const [lo, hi] = INT_RANGE[d]!;
  if (!Number.isInteger(v)) throw new TypeError(`${where}: ${at} must be an integer, got ${v}`);
  if (v < lo || v > hi) throw new RangeError(`${where}: ${at} is ${v}, outside ${d}'s range [${lo}, ${hi}]`);
  return v;
}

/**
 * Reads and parses a safetensors file from bytes, a Blob (a browser File) or a fetch Response; a Response
 * that is not ok (HTTP status outside 200–299) is refused with its status.
 */
export async function loadSafetensors(source: ArrayBufferLike | ArrayBufferView | Blob | Response, opts: ParseOptions = {}): Promise<SafetensorsFile> {
  const where = opts.where ?? 'loadSafetensors';
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) throw new TypeError(`${where}: the response is HTTP ${source.status} ${source.statusText}${source.url ? ` from ${source.url}` : ''}`);
    return parseSafetensors(await readBody(where, () => source.arrayBuffer()), { where });
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return parseSafetensors(await readBody(where, () => source.arrayBuffer()), { where });
  return parseSafetensors(source as ArrayBufferLike | ArrayBufferView, { where });
}

async function readBody(where: string, read: () => Promise<ArrayBuffer>): Promise<ArrayBuffer> {
  try {
    return await read();
  } catch (e) {
    throw new TypeError(`${where}: could not read the body (${(e as Error).message})`);
  }
}
