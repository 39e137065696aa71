// Safetensors read and write: fixtures written by the official package from torch tensors parse to torch's
// values and re-serialize to the same bytes; the official crate's own test vectors; exhaustive F16 and BF16
// widening; round trips for every dtype; every malformed file refused by name; Blob, Response and files.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DTYPES, f16BitsToF32Bits, type Dtype } from '../ts/src/io/dtype.js';
import { MAX_HEADER_BYTES, SafeTensor, loadSafetensors, parseSafetensors, serializeSafetensors, type NamedTensorEntry } from '../ts/src/io/safetensors.js';
import { loadSafetensorsFile, saveSafetensorsFile } from '../ts/src/io/safetensors-node.js';
import { bits, file, fixture, fixtureJson } from './safetensors-helpers.js';

interface Described { dtype: string; shape: number[]; float32_bits?: number[]; float64?: number[]; values?: (number | string)[] }
interface Expected {
  dtypes: { metadata: Record<string, string>; tensors: Record<string, Described> };
  metadata: { metadata: Record<string, string>; tensors: Record<string, Described> };
  half: { f16_numpy_sha256: string; f16_torch_sha256: string; f16_torch_differs_at_signalling_nans: number; bf16_torch_sha256: string };
}
const expected = fixtureJson<Expected>('expected.json');
const TORCH: Record<string, Dtype> = {
  float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const sha256 = (a: Uint32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

/** Checks a parsed tensor against what torch holds (expected.json). */
function checkAgainstTorch(t: SafeTensor, want: Described): void {
  expect(t.dtype).toBe(TORCH[want.dtype]);
  expect(t.shape).toEqual(want.shape);
  if (want.float32_bits) {
    if (t.dtype === 'F64') {
      expect([...t.toFloat64()]).toEqual(want.float64);
      const finite = want.float64!.every((v) => Number.isFinite(Math.fround(v)));
      if (finite) expect(bits(t.toFloat32())).toEqual(want.float32_bits);
      else expect(() => t.toFloat32()).toThrow(RangeError);
    } else {
      expect(bits(t.toFloat32())).toEqual(want.float32_bits);
    }
  } else {
    const big = want.values!.some((v) => typeof v === 'string');
    if (big) {
      expect(() => t.toFloat64()).toThrow(/beyond ±\(2\^53 − 1\)/);
      expect([...new BigInt64Array(t.bytes.slice().buffer)].map(String)).toEqual(want.values!.map(String));
    } else {
      expect([...t.toFloat64()]).toEqual(want.values);
    }
  }
}

describe('fixtures written by safetensors 0.8 from torch 1.13', () => {
  it('dtypes.safetensors: every dtype, 0-dim and empty tensors parse to torch\'s values', () => {
    const f = parseSafetensors(fixture('dtypes.safetensors'));
    expect(f.metadata).toEqual(expected.dtypes.metadata);
    expect([...f.tensors.keys()].sort()).toEqual(Object.keys(expected.dtypes.tensors).sort());
    for (const [name, want] of Object.entries(expected.dtypes.tensors)) checkAgainstTorch(f.tensors.get(name)!, want);
    expect(f.tensors.get('i64_scalar')!.scalar()).toBe(7);
    expect(f.tensors.get('scalar')!.scalar()).toBe(3.25);
    expect(f.tensors.get('empty')!.toFloat32()).toEqual(new Float32Array(0));
  });

  it('dtypes.safetensors re-serializes to the official writer\'s bytes exactly (order, offsets, padding)', () => {
    const bytes = fixture('dtypes.safetensors');
    const f = parseSafetensors(bytes);
    expect(serializeSafetensors(f.tensors, f.metadata)).toEqual(bytes);
  });

  it('metadata.safetensors: several metadata entries and names with dots, unicode, spaces and digits', () => {
    const f = parseSafetensors(fixture('metadata.safetensors'));
    expect(f.metadata).toEqual(expected.metadata.metadata);
    for (const [name, want] of Object.entries(expected.metadata.tensors)) checkAgainstTorch(f.tensors.get(name)!, want);
    // Several metadata keys: the official order is a HashMap's, so compare content, not bytes.
    const again = parseSafetensors(serializeSafetensors(f.tensors, f.metadata));
    expect(again.metadata).toEqual(f.metadata);
    expect([...again.tensors].map(([k, t]) => [k, t.dtype, t.shape, [...t.bytes]])).toEqual([...f.tensors].map(([k, t]) => [k, t.dtype, t.shape, [...t.bytes]]));
  });
});

describe('the official crate\'s test vectors (safetensors/src/tensor.rs)', () => {
  it('an empty file, with and without metadata', () => {
    expect([...serializeSafetensors([])]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect([...serializeSafetensors([], { framework: 'pt' })]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114,
      107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
    expect(parseSafetensors(serializeSafetensors([])).tensors.size).toBe(0);
  });

  it('forced alignment: the header is padded so the F32 data starts on an 8-byte boundary', () => {
    const out = serializeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
    expect([...out]).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115,
      104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91,
      48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('the reader\'s accepted cases: unpadded header, 0-dim, zero-sized, whitespace before and after', () => {
    const te = new TextEncoder();
    const raw = (s: string) => te.encode(s);
    const i32 = parseSafetensors(raw('<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}' + '\x00'.repeat(16)));
    expect(i32.tensors.get('test')!.shape).toEqual([2, 2]);
    const scalar = parseSafetensors(raw('8\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}\x00\x00\x00\x00'));
    expect(scalar.tensors.get('test')!.scalar()).toBe(0);
    const zero = parseSafetensors(raw('<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}'));
    expect(zero.tensors.get('test')!.bytes.length).toBe(0);
    expect(parseSafetensors(raw('\x06\x00\x00\x00\x00\x00\x00\x00{}\x0D\x20\x09\x0A')).tensors.size).toBe(0);
    expect(parseSafetensors(raw('\x06\x00\x00\x00\x00\x00\x00\x00\x09\x0A{}\x0D\x20')).tensors.size).toBe(0);
  });
});

describe('F16 and BF16 widen to F32 exactly, all 65536 patterns each', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const bytes = new Uint8Array(all.buffer);

  /**
   * The value of 16-bit pattern h with `e` exponent bits (F16: 5, BF16: 8) and 15 − e mantissa bits, in
   * float64: (−1)^s · 2^(E − bias) · (1 + M/2^m), subnormals (−1)^s · 2^(1 − bias) · M/2^m; checked exactly.
   */
  function checkEvery(dtype: 'F16' | 'BF16', e: number): Float32Array {
    const out = new SafeTensor('h', dtype, [65536], bytes).toFloat32();
    const m = 15 - e;
    const bias = 2 ** (e - 1) - 1;
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const E = (h >> m) & (2 ** e - 1);
      const M = h & (2 ** m - 1);
      const ref = E === 2 ** e - 1 ? (M ? NaN : s * Infinity) : E === 0 ? s * M * 2 ** (1 - bias - m) : s * (2 ** m + M) * 2 ** (E - bias - m);
      if (Number.isNaN(ref) ? !Number.isNaN(out[h]) : !Object.is(out[h], ref)) throw new Error(`${dtype} 0x${h.toString(16)}: got ${out[h]}, expected ${ref}`);
    }
    return out;
  }

  it('F16: every value equals 2^(e-15)·(1 + m/1024) (subnormals m·2^-24, ±0, ±inf, NaN); bits as numpy\'s', () => {
    const u = new Uint32Array(checkEvery('F16', 5).buffer);
    expect(sha256(u)).toBe(expected.half.f16_numpy_sha256);
    // torch differs only by setting the quiet bit of the signalling NaNs; so does this, after the same change.
    const quieted = u.map((b, h) => ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0 ? b | 0x00400000 : b));
    expect(quieted.filter((b, h) => b !== u[h]).length).toBe(expected.half.f16_torch_differs_at_signalling_nans);
    expect(sha256(quieted)).toBe(expected.half.f16_torch_sha256);
  });

  it('BF16: every value equals 2^(e-127)·(1 + m/128) (subnormals m·2^-133); bits as torch\'s', () => {
    expect(sha256(new Uint32Array(checkEvery('BF16', 8).buffer))).toBe(expected.half.bf16_torch_sha256);
  });

  it('F16 landmarks', () => {
    const f = (h: number) => new Float32Array(new Uint32Array([f16BitsToF32Bits(h)]).buffer)[0];
    expect([0x3c00, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xc000, 0x7c00, 0xfc00].map(f)).toEqual([1, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, -2, Infinity, -Infinity]);
    expect(Object.is(f(0x8000), -0)).toBe(true);
    expect(Number.isNaN(f(0x7e00))).toBe(true);
  });

  it('F16 data at an odd offset in the file widens the same', () => {
    const f = parseSafetensors(file({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, h: { dtype: 'F16', shape: [2], data_offsets: [1, 5] } }, new Uint8Array([9, 0x00, 0x3c, 0x00, 0xc0])));
    expect([...f.tensors.get('h')!.toFloat32()]).toEqual([1, -2]);
    expect(f.tensors.get('h')!.bytes.byteOffset % 2).toBe(1);
  });
});

describe('round trips', () => {
  const entries: NamedTensorEntry[] = [
    { name: 'w', dtype: 'F32', shape: [2, 3], data: new Float32Array([1.5, -0, NaN, Infinity, -3.25, 1e-45]) },
    { name: 'w_list', dtype: 'F32', shape: [3], data: [0.1, 2, -7] },
    { name: 'd', dtype: 'F64', shape: [2], data: new Float64Array([0.1, -1e300]) },
    { name: 'nbt', dtype: 'I64', shape: [], data: [12] },
    { name: 'big', dtype: 'I64', shape: [3], data: [-(2n ** 63n), 2n ** 63n - 1n, 5n] },
    { name: 'u64', dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    { name: 'i32', dtype: 'I32', shape: [2], data: [-(2 ** 31), 2 ** 31 - 1] },
    { name: 'u32', dtype: 'U32', shape: [1], data: [2 ** 32 - 1] },
    { name: 'i16', dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
    { name: 'u16', dtype: 'U16', shape: [1], data: [65535] },
    { name: 'i8', dtype: 'I8', shape: [2], data: [-128, 127] },
    { name: 'u8', dtype: 'U8', shape: [2], data: new Uint8Array([0, 255]) },
    { name: 'flag', dtype: 'BOOL', shape: [3], data: [true, false, 1] },
    { name: 'half', dtype: 'F16', shape: [2], bytes: new Uint8Array([0x00, 0x3c, 0x00, 0xc0]) },
    { name: 'brain', dtype: 'BF16', shape: [1], bytes: new Uint8Array([0x80, 0x3f]) },
    { name: 'fp8', dtype: 'F8_E4M3', shape: [3], bytes: new Uint8Array([1, 2, 3]) },
    { name: 'fp4', dtype: 'F4', shape: [4], bytes: new Uint8Array([0x12, 0x34]) },
    { name: 'none', dtype: 'F32', shape: [0, 5], data: [] },
  ];

  it('every dtype: serialize → parse gives the same dtypes, shapes and values; again gives the same bytes', () => {
    const out = serializeSafetensors(entries, { format: 'pt', note: 'x' });
    const f = parseSafetensors(out);
    expect(f.metadata).toEqual({ format: 'pt', note: 'x' });
    const t = (n: string) => f.tensors.get(n)!;
    expect(bits(t('w').toFloat32())).toEqual(bits(entries[0].data as Float32Array));
    expect([...t('w_list').toFloat32()]).toEqual([Math.fround(0.1), 2, -7]);
    expect([...t('d').toFloat64()]).toEqual([0.1, -1e300]);
    expect(() => t('d').toFloat32()).toThrow(/tensor 'd' \(F64\) element 1 is -1e\+300, beyond float32's range/);
    expect(t('nbt').scalar()).toBe(12);
    expect([...new BigInt64Array(t('big').bytes.slice().buffer)]).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 5n]);
    expect(() => t('big').toFloat64()).toThrow(RangeError);
    expect(() => t('u64').toFloat64()).toThrow(/beyond ±\(2\^53 − 1\)/);
    expect([...t('i32').toFloat64()]).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(() => t('i32').toFloat32()).toThrow(/element 1 is 2147483647, not exactly representable in float32/);
    expect([...t('u32').toFloat64(), ...t('i16').toFloat64(), ...t('u16').toFloat64(), ...t('i8').toFloat64(), ...t('u8').toFloat64()]).toEqual([
      2 ** 32 - 1, -32768, 32767, 65535, -128, 127, 0, 255,
    ]);
    expect([...t('flag').toFloat32()]).toEqual([1, 0, 1]);
    expect([...t('half').toFloat32(), ...t('brain').toFloat32()]).toEqual([1, -2, 1]);
    expect([...t('fp8').bytes]).toEqual([1, 2, 3]);
    expect(() => t('fp8').toFloat32()).toThrow(/tensor 'fp8' has dtype F8_E4M3, which has no conversion/);
    expect([...t('fp4').bytes]).toEqual([0x12, 0x34]);
    expect(t('none').numel).toBe(0);
    expect(serializeSafetensors(f.tensors, f.metadata)).toEqual(out);
  });

  it('the writer\'s order: dtypes by alignment (largest first), then names by UTF-8 bytes; each tensor aligned', () => {
    const out = serializeSafetensors(entries);
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(out.subarray(8, 8 + n))) as Record<string, { dtype: Dtype; data_offsets: number[] }>;
    const order = Object.entries(header).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
    const ranks = order.map(([, v]) => DTYPES.indexOf(v.dtype));
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    for (const [, v] of order) {
      const size = Math.max(1, { F4: 1, F6_E2M3: 1, F6_E3M2: 1 }[v.dtype as 'F4'] ?? { BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 }[v.dtype as 'U8']);
      expect((8 + n + v.data_offsets[0]) % size).toBe(0);
    }
    // Names by UTF-8 bytes: U+FF5E sorts before U+1F600 although its UTF-16 code unit is larger.
    const names = serializeSafetensors([{ name: '😀', dtype: 'U8', shape: [1], data: [1] }, { name: '～', dtype: 'U8', shape: [1], data: [2] }, { name: 'a', dtype: 'U8', shape: [1], data: [3] }]);
    expect([...parseSafetensors(names).tensors.keys()]).toEqual(['a', '～', '😀']);
  });

  it('entries as an array, a Map or an object write the same bytes; a key "__proto__" stays a key', () => {
    const a = serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], data: [1] }, { name: '__proto__', dtype: 'F32', shape: [1], data: [2] }], JSON.parse('{"__proto__":"m"}') as Record<string, string>);
    const m = serializeSafetensors(new Map([['x', { dtype: 'F32' as const, shape: [1], data: [1] }], ['__proto__', { dtype: 'F32' as const, shape: [1], data: [2] }]]), JSON.parse('{"__proto__":"m"}') as Record<string, string>);
    expect(m).toEqual(a);
    const f = parseSafetensors(a);
    expect([...f.tensors.keys()].sort()).toEqual(['__proto__', 'x']);
    expect(Object.keys(f.metadata!)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(f.metadata)).toBe(Object.prototype);
  });

  it('a parsed tensor is a view into the input; toFloat32 returns a copy', () => {
    const bytes = serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: [1, 2] }]);
    const t = parseSafetensors(bytes).tensors.get('w')!;
    expect(t.bytes.buffer).toBe(bytes.buffer);
    const v = t.toFloat32();
    v[0] = 9;
    expect([...t.toFloat32()]).toEqual([1, 2]);
  });
});

/** Expects `fn` to throw `type` with a message matching `message`. */
function refuses(fn: () => unknown, type: typeof TypeError | typeof RangeError, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(message);
}

describe('malformed files: each refused by name, as the official reader refuses it', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const one = (info: unknown) => file({ a: info }, 8);
  const cases: [string, () => Uint8Array, typeof TypeError | typeof RangeError, RegExp][] = [
    ['shorter than the length field', () => new Uint8Array(5), RangeError, /5 bytes is too short/],
    ['header length beyond the file', () => file(ok, 8, 200), RangeError, /header length field is 200 bytes, beyond the file \(62 bytes follow/],
    ['header of 100 MB + 1 declared', () => file(ok, 8, MAX_HEADER_BYTES + 1), RangeError, /100000001 bytes, over the format's limit of 100000000/],
    ['header of exactly 100 MB declared, beyond the file', () => file(ok, 8, MAX_HEADER_BYTES), RangeError, /beyond the file/],
    ['header length 2^53', () => file(ok, 8, 2n ** 53n), RangeError, /9007199254740992 bytes, over the format's limit/],
    ['header length 2^64 − 1', () => file(ok, 8, 2n ** 64n - 1n), RangeError, /18446744073709551615 bytes/],
    ['invalid JSON', () => file('{"a": '), TypeError, /the header is not valid JSON/],
    ['NUL padding after the JSON', () => file('{}\0\0'), TypeError, /not valid JSON/],
    ['a byte-order mark', () => file('\ufeff{}'), TypeError, /not valid JSON/],
    ['a JSON array header', () => file([]), TypeError, /must be a JSON object of tensors, got \[\]/],
    ['a JSON string header', () => file('"x"'), TypeError, /must be a JSON object/],
    ['a JSON null header', () => file('null'), TypeError, /must be a JSON object of tensors, got null/],
    ['__metadata__ an array', () => file({ __metadata__: [] }), TypeError, /__metadata__ must map strings to strings, got \[\]/],
    ['__metadata__ a number value', () => file({ __metadata__: { x: 1 } }), TypeError, /__metadata__ must map strings to strings; 'x' is 1/],
    ['__metadata__ a nested object', () => file({ __metadata__: { x: { y: 'z' } } }), TypeError, /'x' is Object/],
    ['tensor entry not an object', () => file({ a: 3 }), TypeError, /tensor 'a' must be an object \{ dtype, shape, data_offsets \}, got 3/],
    ['unknown dtype', () => one({ dtype: 'F31', shape: [2], data_offsets: [0, 8] }), TypeError, /tensor 'a' has unknown dtype "F31" \(known: BOOL, /],
    ['lower-case dtype', () => one({ dtype: 'f32', shape: [2], data_offsets: [0, 8] }), TypeError, /unknown dtype "f32"/],
    ['missing dtype', () => one({ shape: [2], data_offsets: [0, 8] }), TypeError, /tensor 'a' has unknown dtype undefined/],
    ['shape missing', () => one({ dtype: 'F32', data_offsets: [0, 8] }), TypeError, /tensor 'a' shape must be an array of non-negative integers, got undefined/],
    ['shape null', () => one({ dtype: 'F32', shape: null, data_offsets: [0, 8] }), TypeError, /shape must be an array/],
    ['negative shape entry', () => one({ dtype: 'F32', shape: [-2], data_offsets: [0, 8] }), RangeError, /tensor 'a' shape\[0\] must be in \[0, 2\^53 − 1\], got -2/],
    ['fractional shape entry', () => one({ dtype: 'F32', shape: [2, 1.5], data_offsets: [0, 8] }), TypeError, /tensor 'a' shape\[1\] must be an integer, got 1.5/],
    ['string shape entry', () => one({ dtype: 'F32', shape: ['2'], data_offsets: [0, 8] }), TypeError, /shape\[0\] must be an integer, got "2"/],
    ['shape entry beyond 2^53', () => one({ dtype: 'F32', shape: [2 ** 60], data_offsets: [0, 8] }), RangeError, /shape\[0\] must be in \[0, 2\^53 − 1\]/],
    ['three data_offsets', () => one({ dtype: 'F32', shape: [2], data_offsets: [0, 8, 9] }), TypeError, /data_offsets must be an array of 2 non-negative integers/],
    ['negative offset', () => one({ dtype: 'F32', shape: [2], data_offsets: [-8, 0] }), RangeError, /data_offsets\[0\] must be in \[0, 2\^53 − 1\], got -8/],
    ['fractional offset', () => one({ dtype: 'F32', shape: [2], data_offsets: [0, 8.5] }), TypeError, /data_offsets\[1\] must be an integer, got 8.5/],
    ['offset beyond 2^53', () => one({ dtype: 'F32', shape: [2], data_offsets: [0, 2 ** 64] }), RangeError, /data_offsets\[1\] must be in/],
    ['end before begin', () => one({ dtype: 'F32', shape: [0], data_offsets: [8, 0] }), RangeError, /tensor 'a' \(data_offsets \[8, 0\]\) ends before it begins/],
    ['a hole before the first tensor', () => file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), RangeError, /leaves bytes \[0, 4\) of the data to no tensor; the format allows no holes/],
    ['a hole between tensors', () => file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12), RangeError, /tensor 'b' .* leaves bytes \[4, 8\)/],
    ['overlapping tensors', () => file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), RangeError, /tensor 'b' \(data_offsets \[4, 8\]\) overlaps tensor 'a', which ends at byte 8/],
    ['two tensors on the same bytes', () => file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4), RangeError, /overlaps/],
    ['a duplicate key pointing elsewhere (the last wins, leaving a hole)', () => file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), RangeError, /no holes/],
    ['byte count not dtype size × numel', () => one({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }), RangeError, /tensor 'a' \(data_offsets \[0, 8\]\) spans 8 bytes; F32 of shape \[3\] needs 12/],
    ['I64 with F32 byte count', () => file({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 4] } }, 4), RangeError, /spans 4 bytes; I64 of shape \[1\] needs 8/],
    ['element count overflows 2^53', () => one({ dtype: 'F32', shape: [2 ** 26, 2 ** 26, 2 ** 26], data_offsets: [0, 8] }), RangeError, /tensor 'a' of shape \[67108864, 67108864, 67108864\] overflows/],
    ['byte size overflows 2^53', () => one({ dtype: 'F64', shape: [2 ** 51], data_offsets: [0, 8] }), RangeError, /overflows: its byte size is beyond 2\^53/],
    ['sub-byte values off a byte boundary', () => file({ a: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2), RangeError, /tensor 'a' holds 3 F4 values, which do not end on a byte boundary/],
    ['offsets beyond the data (truncated data)', () => one({ dtype: 'F32', shape: [4], data_offsets: [0, 16] }), RangeError, /the data is truncated: tensor 'a' ends at byte 16 of the data, which has 8 bytes/],
    ['a file cut short', () => file(ok, 8).subarray(0, -3), RangeError, /truncated: tensor 'a' ends at byte 8 of the data, which has 5 bytes/],
    ['bytes after the last tensor', () => file(ok, 9), RangeError, /1 bytes follow the last tensor's data; the tensors must cover the data exactly/],
    ['an unpaired surrogate in a name', () => file('{"\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8), TypeError, /tensor name "\\ud800" holds an unpaired UTF-16 surrogate/],
    ['an unpaired surrogate in metadata', () => file('{"__metadata__":{"k":"\\udc00"}}'), TypeError, /__metadata__ 'k' .* unpaired UTF-16 surrogate/],
  ];

  it.each(cases)('%s', (_, make, type, message) => {
    const bytes = make();
    const copy = bytes.slice();
    refuses(() => parseSafetensors(bytes), type, message);
    expect(bytes).toEqual(copy);
  });

  it('invalid UTF-8 in the header is a TypeError', () => {
    const bytes = file('{"a":1}');
    bytes[10] = 0xff;
    refuses(() => parseSafetensors(bytes), TypeError, /the header is not valid UTF-8/);
  });

  it('not bytes at all', () => {
    for (const v of ['abc', null, 42, [1, 2], {}]) refuses(() => parseSafetensors(v as never), TypeError, /expected the file's bytes \(an ArrayBuffer or a typed array\)/);
  });

  it('errors name the source given as `where`', () => {
    refuses(() => parseSafetensors(new Uint8Array(3), { where: "safetensors file 'w.safetensors'" }), RangeError, /^safetensors file 'w.safetensors': 3 bytes/);
  });
});

describe('accepted like the official reader (parity with safetensors 0.8 on the same bytes)', () => {
  it.each<[string, Uint8Array, string[]]>([
    ['__metadata__: null', file({ __metadata__: null, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4), ['a']],
    ['unknown fields in a tensor entry are ignored', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4], foo: { bar: 1 } } }, 4), ['a']],
    ['header keys out of data order', file({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), ['a', 'b']],
    ['an identical duplicate key', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), ['a']],
    ['an empty tensor at the offset of another', file({ a: { dtype: 'F32', shape: [0], data_offsets: [0, 0] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4), ['a', 'b']],
    ['an empty name and escaped unicode', file('{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2), ['', 'é']],
    ['integer-like names keep data order', file({ 10: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, 2: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } }, 2), ['10', '2']],
    ['-0 in a shape reads as 0', file('{"a":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}'), ['a']],
  ])('%s', (_, bytes, names) => {
    const f = parseSafetensors(bytes);
    expect([...f.tensors.keys()]).toEqual(names);
    for (const t of f.tensors.values()) expect(Object.is(t.shape[0], -0)).toBe(false);
  });
});

describe('bad input to the writer', () => {
  const w = (t: unknown, m?: unknown) => () => serializeSafetensors(t as never, m as never);
  it.each<[string, () => unknown, typeof TypeError | typeof RangeError, RegExp]>([
    ['not entries', w(5), TypeError, /tensors must be an array .* got 5/],
    ['no name', w([{ dtype: 'F32', shape: [1], data: [1] }]), TypeError, /tensor 0 must have a string name, got undefined/],
    ['a repeated name', w([{ name: 'a', dtype: 'F32', shape: [1], data: [1] }, { name: 'a', dtype: 'F32', shape: [1], data: [1] }]), TypeError, /tensor name 'a' appears twice/],
    ['the name __metadata__', w({ __metadata__: { dtype: 'F32', shape: [1], data: [1] } }), TypeError, /'__metadata__' is reserved/],
    ['an unpaired surrogate in a name', w({ '\ud800': { dtype: 'F32', shape: [1], data: [1] } }), TypeError, /unpaired UTF-16 surrogate/],
    ['an unknown dtype', w({ a: { dtype: 'F31', shape: [1], data: [1] } }), TypeError, /tensor 'a' has unknown dtype "F31"/],
    ['a bad shape', w({ a: { dtype: 'F32', shape: [-1], data: [] } }), RangeError, /tensor 'a' shape\[0\] must be in/],
    ['both data and bytes', w({ a: { dtype: 'F32', shape: [1], data: [1], bytes: new Uint8Array(4) } }), TypeError, /needs exactly one of data \(values\) or bytes \(raw\)/],
    ['neither data nor bytes', w({ a: { dtype: 'F32', shape: [1] } }), TypeError, /needs exactly one of data/],
    ['too few values', w({ a: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), RangeError, /tensor 'a' has 3 values; shape \[2, 2\] needs 4/],
    ['too many bytes', w({ a: { dtype: 'F16', shape: [2], bytes: new Uint8Array(5) } }), RangeError, /tensor 'a' has 5 bytes; F16 of shape \[2\] needs 4/],
    ['bytes not a Uint8Array', w({ a: { dtype: 'F16', shape: [2], bytes: [1, 2, 3, 4] } }), TypeError, /bytes must be a Uint8Array/],
    ['F16 given as numbers', w({ a: { dtype: 'F16', shape: [1], data: [1] } }), TypeError, /F16 values must be given as raw little-endian bytes/],
    ['a string value', w({ a: { dtype: 'F32', shape: [1], data: ['1'] } }), TypeError, /tensor 'a' element 0 must be a number, got "1"/],
    ['an F32 value beyond float32', w({ a: { dtype: 'F32', shape: [2], data: [1, 1e39] } }), RangeError, /tensor 'a' element 1 is 1e\+39, beyond float32's range/],
    ['an I32 value out of range', w({ a: { dtype: 'I32', shape: [1], data: [2 ** 31] } }), RangeError, /outside I32's range \[-2147483648, 2147483647\]/],
    ['a fractional I8', w({ a: { dtype: 'I8', shape: [1], data: [1.5] } }), TypeError, /element 0 must be an integer, got 1.5/],
    ['an unsafe integer for I64', w({ a: { dtype: 'I64', shape: [1], data: [2 ** 60] } }), RangeError, /must be a safe integer or a bigint/],
    ['a bigint beyond I64', w({ a: { dtype: 'I64', shape: [1], data: [2n ** 63n] } }), RangeError, /outside I64's range/],
    ['a negative U64', w({ a: { dtype: 'U64', shape: [1], data: [-1n] } }), RangeError, /outside U64's range/],
    ['BOOL 2', w({ a: { dtype: 'BOOL', shape: [1], data: new Uint8Array([2]) } }), TypeError, /must be a boolean \(or 0 \/ 1\), got 2/],
    ['metadata not strings', w({}, { a: 1 }), TypeError, /metadata must map strings to strings; 'a' is 1/],
    ['metadata an array', w({}, ['a']), TypeError, /metadata must map strings to strings, got \[/],
  ])('%s', (_, fn, type, message) => refuses(fn, type, message));

  it('NaN and ±Infinity are written as they are (the format does not check values)', () => {
    const f = parseSafetensors(serializeSafetensors({ a: { dtype: 'F32', shape: [3], data: [NaN, Infinity, -Infinity] } }));
    expect([...f.tensors.get('a')!.toFloat32()]).toEqual([NaN, Infinity, -Infinity]);
  });

  it('a header over 100 MB is refused before anything is allocated for the data', () => {
    refuses(() => serializeSafetensors({}, { big: 'a'.repeat(MAX_HEADER_BYTES) }), RangeError, /the header would be 100000032 bytes, over the format's limit of 100000000/);
  });

  it('SafeTensor checks what it is given', () => {
    refuses(() => new SafeTensor('x', 'F32', [2], new Uint8Array(4)), RangeError, /tensor 'x' has Uint8Array of 4 bytes; F32 of shape \[2\] needs 8/);
    refuses(() => new SafeTensor('x', 'X' as Dtype, [2], new Uint8Array(4)), TypeError, /unknown dtype "X"/);
    refuses(() => new SafeTensor('x', 'F32', [2, 2], new Uint8Array(16)).scalar(), RangeError, /tensor 'x' has shape \[2, 2\], expected one element/);
  });
});

describe('loading from a Blob, a Response, a SharedArrayBuffer and a file', () => {
  const bytes = serializeSafetensors({ w: { dtype: 'F32', shape: [2], data: [1, 2] } }, { format: 'pt' });
  const dir = mkdtempSync(join(tmpdir(), 'wasmcnn-st-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Blob, Response, ArrayBuffer, a typed array at an offset and shared memory', async () => {
    const sources: unknown[] = [new Blob([bytes]), new Response(bytes), bytes.slice().buffer];
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    sources.push(padded.subarray(3));
    const shared = new SharedArrayBuffer(bytes.length);
    new Uint8Array(shared).set(bytes);
    sources.push(shared);
    for (const s of sources) {
      const f = await loadSafetensors(s as Blob);
      expect(f.metadata).toEqual({ format: 'pt' });
      expect([...f.tensors.get('w')!.toFloat32()]).toEqual([1, 2]);
    }
  });

  it('a Response that is not ok, or already read, is refused by name', async () => {
    await expect(loadSafetensors(new Response('nope', { status: 404, statusText: 'Not Found' }))).rejects.toThrow(/loadSafetensors: the response is HTTP 404 Not Found/);
    const r = new Response(bytes);
    await r.arrayBuffer();
    await expect(loadSafetensors(r)).rejects.toThrow(TypeError);
    await expect(loadSafetensors(new Blob([bytes.subarray(0, 20)]))).rejects.toThrow(/loadSafetensors: the header length field is \d+ bytes, beyond the file/);
  });

  it('saveSafetensorsFile → loadSafetensorsFile, replacing a file in place with no temporary left behind', async () => {
    const path = join(dir, 'w.safetensors');
    await saveSafetensorsFile(path, { w: { dtype: 'F32', shape: [1], data: [7] } });
    await saveSafetensorsFile(path, [{ name: 'w', dtype: 'F32', shape: [2], data: [1, 2] }], { format: 'pt' });
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    const f = await loadSafetensorsFile(path);
    expect([...f.tensors.get('w')!.toFloat32()]).toEqual([1, 2]);
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
    await expect(saveSafetensorsFile(path, { w: { dtype: 'F32', shape: [3], data: [1] } })).rejects.toThrow(/safetensors file '.*w.safetensors': tensor 'w' has 1 values/);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    await expect(saveSafetensorsFile(join(dir, 'no', 'such', 'dir.safetensors'), {})).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
  });

  it('a bad file on disk names its path', async () => {
    const path = join(dir, 'bad.safetensors');
    await saveSafetensorsFile(path, {});
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4));
    await expect(loadSafetensorsFile(path)).rejects.toThrow(/^safetensors file '.*bad.safetensors': the data is truncated/);
    rmSync(path);
  });
});
