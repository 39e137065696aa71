// Float64 references for issue 13's tests: the goldens' input generator, the activations' definitions
// with activation_sweep.rs's error bound, and erf (JS has none).

/** crates/core/tests/common `data`: xorshift32 values in [-1, 1), in float32 arithmetic as in Rust. */
export function xorshiftData(n: number, seed: number): Float32Array {
  let s = (Math.imul(seed, 2654435761) + 1) >>> 0;
  const scale = Math.fround(4294967295); // u32::MAX as f32 (2³²)
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    out[i] = Math.fround(Math.fround(Math.fround(s) / scale) * 2) - 1;
  }
  return out;
}

/**
 * erfc(x) in f64: the Maclaurin series of erf for |x| < 2.5 (terms peak near e^{x²}, so at most ~3 digits of
 * 16 are lost), Lentz's continued fraction for erfc above (it converges fast there); erfc(−x) = 2 − erfc(x).
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) {
    let [term, sum] = [x, x];
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = e^{−x²}/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))), by modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let [c, d] = [x, 0];
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const K = Math.sqrt(2 / Math.PI);

/** (f(x), f′(x), T(x)) in f64: activation_sweep.rs's `reference`. */
function definition(name: string, alpha: number, x: number): [number, number, number] {
  const step = (c: boolean) => (c ? 1 : 0);
  switch (name) {
    case 'relu': return [Math.max(x, 0), step(x > 0), 0];
    case 'relu6': return [Math.min(Math.max(x, 0), 6), step(x > 0 && x < 6), 0];
    case 'leakyRelu': return [x > 0 ? x : x * alpha, x > 0 ? 1 : alpha, 0];
    case 'elu': return [x > 0 ? x : alpha * Math.expm1(x), x > 0 ? 1 : alpha * Math.exp(x), 0];
    case 'gelu': {
      const cdf = 0.5 * erfc(-x / Math.SQRT2);
      const pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
      return [x * cdf, cdf + x * pdf, Math.abs(cdf) + Math.abs(x * pdf)];
    }
    case 'geluTanh': {
      const v = 2 * K * (x + 0.044715 * x * x * x);
      const dv = 2 * K * (1 + 3 * 0.044715 * x * x);
      const [s, sn] = [sig(v), sig(-v)];
      const t = x * dv * s * sn;
      return [x * s, s + t, s + Math.abs(t)];
    }
    case 'silu': {
      const [s, sn] = [sig(x), sig(-x)];
      return [x * s, s + x * s * sn, s + Math.abs(x * s * sn)];
    }
    case 'hardswish': {
      const y = x <= -3 ? 0 : x >= 3 ? x : (x * (x + 3)) / 6;
      const d = x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1;
      return [y, d, x >= -3 && x <= 3 ? Math.abs(x / 3) + 0.5 : 0];
    }
    case 'hardsigmoid': return [Math.min(Math.max(x + 3, 0), 6) / 6, x > -3 && x < 3 ? 1 / 6 : 0, 0];
    case 'sigmoid': return [sig(x), sig(x) * sig(-x), 0];
    case 'tanh': return [Math.tanh(x), 1 / (Math.cosh(x) * Math.cosh(x)), 0];
  }
  throw new Error(`no definition for ${name}`);
}

const F32_MAX = 3.4028234663852886e38;
const TINY = 2 ** -126;

/**
 * The f64 forward f and backward d = dy·f′ at the f32 input x, with activation_sweep.rs's bounds:
 * |got − w| ≤ 1e-6·|w| + 2⁻²³·|x·w′| + 2⁻²²·T·|dy| (backward) + 1e-4·2⁻¹²⁶, w′ by f64 central differences
 * (0 across a kink, where the one-sided slopes are exact).
 */
export function activationReference(name: string, alpha: number, x: number, dy: number): { f: number; d: number; boundF: number; boundD: number } {
  const [f, fd, t] = definition(name, alpha, x);
  const h = 1e-6 * Math.max(Math.abs(x), 1e-3);
  const kink = [0, 6, 3, -3].some((k) => Math.abs(k - x) <= h);
  const [up, down] = [definition(name, alpha, x + h), definition(name, alpha, x - h)];
  const [sf, sd] = kink ? [0, 0] : [Math.abs((x * (up[0] - down[0])) / (2 * h)), Math.abs((x * (up[1] - down[1])) / (2 * h))];
  const fc = Math.min(Math.max(f, -F32_MAX), F32_MAX);
  const d = fd * dy;
  return {
    f: fc,
    d,
    boundF: 1e-6 * Math.abs(fc) + 2 ** -23 * sf + 1e-4 * TINY,
    boundD: 1e-6 * Math.abs(d) + (2 ** -23 * sd + 2 ** -22 * t) * Math.abs(dy) + 1e-4 * TINY,
  };
}
