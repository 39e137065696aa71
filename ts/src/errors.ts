// Error helpers: every message names where it came from and, when a value is wrong, what was expected.

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length <= 8 ? `[${v.map(describe).join(', ')}]` : `Array(${v.length})`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return String(v);
}

/** Throws a RangeError unless `v` is an integer in [min, max]. */
export function checkInt(where: string, name: string, v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${where}: ${name} must be an integer, got ${describe(v)}`);
  }
  if (v < min || v > max) {
    throw new RangeError(`${where}: ${name} must be in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], got ${v}`);
  }
  return v;
}

/** Throws unless `v` is a finite number in the interval described by `lo`/`hi` and their openness. */
export function checkNumber(
  where: string,
  name: string,
  v: unknown,
  lo = -Infinity,
  hi = Infinity,
  { loOpen = false, hiOpen = false } = {},
): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TypeError(`${where}: ${name} must be a finite number, got ${describe(v)}`);
  }
  const below = loOpen ? v <= lo : v < lo;
  const above = hiOpen ? v >= hi : v > hi;
  if (below || above) {
    throw new RangeError(`${where}: ${name} must be in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
  }
  return v;
}

export function checkBool(where: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${where}: ${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** Rejects option keys that are not in `known` (a typo must not be silently ignored). */
export function checkKeys(where: string, obj: object, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new TypeError(`${where}: unknown option '${k}' (known: ${known.join(', ')})`);
    }
  }
}

/**
 * Throws a RangeError naming the first element of `data` that is not a finite float32: NaN, ±Infinity, a
 * non-number, or a finite float64 beyond float32's range (|v| ≥ 3.4028235677973366e38 rounds to ±Infinity).
 * Every value bound for wasm memory passes this check after conversion, not before.
 */
export function checkFinite(where: string, name: string, data: ArrayLike<number>): void {
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new RangeError(`${where}: ${name} must be finite in float32, element ${i} is ${data[i]}`);
    }
    return;
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) {
      const why = typeof v === 'number' && Number.isFinite(v) ? ' (beyond float32\'s range: it would be stored as Infinity)' : '';
      throw new RangeError(`${where}: ${name} must be finite in float32, element ${i} is ${describe(v)}${why}`);
    }
  }
}

export function checkLength(where: string, name: string, data: { length: number }, want: number): void {
  if (data.length !== want) {
    throw new RangeError(`${where}: ${name} has length ${data.length}, expected ${want}`);
  }
}
