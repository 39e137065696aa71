// Safetensors element types: their sizes, and exact widening of F16 and BF16 to F32.
//
// Decoding reads little-endian data through typed arrays, so it assumes a little-endian host, as every
// Float32Array view over wasm memory in this package already does.

/** Every dtype the official format (safetensors 0.8) defines, in its order of increasing alignment. */
export const DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;
export type Dtype = (typeof DTYPES)[number];

const BITS: Record<Dtype, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

export function isDtype(v: unknown): v is Dtype {
  return typeof v === 'string' && Object.hasOwn(BITS, v);
}

/** Bits per element (4 and 6 for the sub-byte micro-scaling floats). */
export function dtypeBits(d: Dtype): number {
  return BITS[d];
}

/** Rank in the official writer's order (higher = larger alignment, written first). */
export function dtypeRank(d: Dtype): number {
  return DTYPES.indexOf(d);
}

/** The JS typed array whose elements are exactly this dtype's values, for the dtypes that have one. */
export const NATIVE = {
  F32: Float32Array, F64: Float64Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array, I16: Int16Array, U16: Uint16Array,
  I32: Int32Array, U32: Uint32Array, I64: BigInt64Array, U64: BigUint64Array,
} as const;
export type NativeDtype = keyof typeof NATIVE;

export function isNative(d: Dtype): d is NativeDtype {
  return Object.hasOwn(NATIVE, d);
}

/**
 * The float32 bit pattern of an IEEE binary16 value: exact for every one of the 65536 patterns (each is
 * representable in float32). NaN payloads are kept as they are, with no quiet bit forced (numpy's widening;
 * torch's sets the quiet bit of the 1022 signalling NaNs).
 */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: mant × 2^-24 with its leading one at bit p is 2^(p-24) × 1.f, a normal float32.
  const p = 31 - Math.clz32(mant);
  return (sign | ((p + 103) << 23) | ((mant << (23 - p)) & 0x7fffff)) >>> 0;
}

/** Widens `count` little-endian F16 values from `src` (byte-aligned anywhere) into a new Float32Array. */
export function f16ToF32(src: Uint8Array, count: number): Float32Array {
  const h = new Uint16Array(src.slice(0, count * 2).buffer);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = f16BitsToF32Bits(h[i]);
  return new Float32Array(out.buffer);
}

/** Widens `count` little-endian BF16 values into a new Float32Array: BF16 is float32's upper half. */
export function bf16ToF32(src: Uint8Array, count: number): Float32Array {
  const h = new Uint16Array(src.slice(0, count * 2).buffer);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = h[i] << 16;
  return new Float32Array(out.buffer);
}
