// The seeded weight formula the PyTorch interop goldens use (test/golden/gen_interop.py has its twin):
// u = (h >> 8)/2^23 − 1 from a murmur3-style finaliser of i·0x9E3779B1 + fnv1a32(name), exact in float32;
// power-of-two scales only, so numpy's float32 arithmetic and Math.fround give the same bits.
export function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function unit(name: string, n: number): Float32Array {
  const base = fnv1a(name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + base) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
    out[i] = (h >>> 8) / 2 ** 23 - 1;
  }
  return out;
}

/** 2^−⌊⌊log2 fanIn⌋ / 2⌋ (≈ 1/√fanIn), from integer arithmetic only. */
const pow2Scale = (fanIn: number) => 2 ** -Math.floor((31 - Math.clz32(fanIn)) / 2);

/** The formula's values of state_dict entry `name` (shape given), knowing which prefixes are BatchNorms. */
export function formulaValue(name: string, shape: number[], isBn: (prefix: string) => boolean, weightShape: (prefix: string) => number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = unit(name, n);
  const dot = name.lastIndexOf('.');
  const [prefix, local] = [name.slice(0, dot), name.slice(dot + 1)];
  const f = Math.fround;
  if (isBn(prefix)) {
    if (local === 'weight') return u.map((v) => f(1 + v / 4));
    if (local === 'bias' || local === 'running_mean') return u.map((v) => v / 8);
    if (local === 'running_var') return u.map((v) => f(1 + Math.abs(v) / 2));
    throw new Error(`unexpected BatchNorm entry ${name}`);
  }
  const fanIn = weightShape(prefix).slice(1).reduce((a, b) => a * b, 1);
  const s = pow2Scale(fanIn);
  return local === 'weight' ? u.map((v) => v * s) : u.map((v) => v * (s / 4));
}

/** Σ t·r (r the formula vector of '<name>.proj') and ‖t‖, in float64, over the elements not in `exclude`. */
export function projection(name: string, t: ArrayLike<number>, exclude?: ReadonlySet<number>): [number, number] {
  const r = unit(`${name}.proj`, t.length);
  let [dot, sq] = [0, 0];
  for (let i = 0; i < t.length; i++) {
    if (exclude?.has(i)) continue;
    dot += t[i] * r[i];
    sq += t[i] * t[i];
  }
  return [dot, Math.sqrt(sq)];
}
