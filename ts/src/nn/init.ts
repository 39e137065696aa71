// Seeded parameter initialisation, the same in every runtime: uniform draws take 24 random bits (exact in
// float32), and normal draws invert the normal CDF with a logarithm written in +, −, ×, ÷ only — Math.log
// and Math.cos may differ in the last bit between JS engines, IEEE arithmetic may not.
import { checkKeys, checkNumber, describe } from '../errors.js';
import type { Rng } from './rng.js';

/**
 * Model-wide schemes for conv and dense weights (the `init` of a model spec):
 * - `he`: He/Kaiming uniform for ReLU nets, weights U(±√(6/fan_in)), biases 0.
 * - `glorot`: Glorot/Xavier uniform, U(±√(6/(fan_in+fan_out))), biases 0 (Keras' default).
 * - `pytorch`: PyTorch's Conv2d/Linear default, weights and biases U(±1/√fan_in).
 */
export type InitScheme = 'he' | 'glorot' | 'pytorch';
export const INIT_SCHEMES: readonly InitScheme[] = ['he', 'glorot', 'pytorch'];

/**
 * One tensor's initialiser. `'default'` is the layer's PyTorch default (conv/dense: U(±1/√fan_in); norms:
 * weight 1, bias 0; running_var 1), overridden for conv/dense weights by the model's `init` scheme.
 * He/Glorot take `mode` (`fanIn` default, `fanOut` as torchvision's ResNet init).
 */
export type InitSpec =
  | 'default'
  | 'zeros'
  | 'ones'
  | { type: 'constant'; value: number }
  | { type: 'heUniform' | 'heNormal' | 'glorotUniform' | 'glorotNormal'; mode?: 'fanIn' | 'fanOut'; gain?: number }
  | { type: 'uniform'; bound: number }
  | { type: 'normal'; std: number };

const TYPES = ['constant', 'heUniform', 'heNormal', 'glorotUniform', 'glorotNormal', 'uniform', 'normal'] as const;

/** Validates an initialiser given in a layer spec (`weightInit`, `biasInit`). */
export function checkInit(where: string, name: string, v: unknown): InitSpec {
  if (v === 'default' || v === 'zeros' || v === 'ones') return v;
  if (typeof v === 'string' && (TYPES as readonly string[]).includes(v)) return checkInit(where, name, { type: v });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TypeError(`${where}: ${name} must be 'default', 'zeros', 'ones' or { type: ${TYPES.map((t) => `'${t}'`).join(' | ')}, … }, got ${describe(v)}`);
  }
  const o = v as Record<string, unknown>;
  if (!(TYPES as readonly unknown[]).includes(o.type)) throw new TypeError(`${where}: ${name}.type must be one of ${TYPES.join(', ')}, got ${describe(o.type)}`);
  switch (o.type) {
    case 'constant':
      checkKeys(`${where}: ${name}`, o, ['type', 'value']);
      return { type: 'constant', value: checkNumber(where, `${name}.value`, o.value) };
    case 'uniform':
      checkKeys(`${where}: ${name}`, o, ['type', 'bound']);
      return { type: 'uniform', bound: checkNumber(where, `${name}.bound`, o.bound, 0) };
    case 'normal':
      checkKeys(`${where}: ${name}`, o, ['type', 'std']);
      return { type: 'normal', std: checkNumber(where, `${name}.std`, o.std, 0) };
    default: {
      checkKeys(`${where}: ${name}`, o, ['type', 'mode', 'gain']);
      const mode = o.mode ?? 'fanIn';
      if (mode !== 'fanIn' && mode !== 'fanOut') throw new TypeError(`${where}: ${name}.mode must be 'fanIn' or 'fanOut', got ${describe(mode)}`);
      const spec: InitSpec = { type: o.type as 'heUniform', mode };
      if (o.gain !== undefined) spec.gain = checkNumber(where, `${name}.gain`, o.gain, 0);
      return spec;
    }
  }
}

/** What a tensor is, for resolving 'default'. */
export type InitRole = 'weight' | 'bias' | 'normWeight' | 'normBias' | 'runningMean' | 'runningVar' | 'count';

/** Fills `out`; draws from `rng` only for random initialisers (so the stream is reproducible by tensor order). */
export function fill(out: Float32Array, spec: InitSpec, role: InitRole, fanIn: number, fanOut: number, scheme: InitScheme, rng: Rng): void {
  const s = spec === 'default' ? defaultFor(role, scheme, fanIn, fanOut) : spec;
  if (s === 'zeros') return void out.fill(0);
  if (s === 'ones') return void out.fill(1);
  switch (s.type) {
    case 'constant':
      return void out.fill(s.value);
    case 'uniform':
      return uniform(out, s.bound, rng);
    case 'normal':
      return normal(out, s.std, rng);
    default: {
      const fan = s.mode === 'fanOut' ? fanOut : fanIn;
      // He: gain √2 (ReLU) over the fan; Glorot: gain 1 over the mean of both fans.
      const he = s.type === 'heUniform' || s.type === 'heNormal';
      const gain = s.gain ?? (he ? Math.SQRT2 : 1);
      const std = he ? gain / Math.sqrt(fan) : gain * Math.sqrt(2 / (fanIn + fanOut));
      return s.type.endsWith('Uniform') ? uniform(out, Math.sqrt(3) * std, rng) : normal(out, std, rng);
    }
  }
}

/** A role's default under the model's scheme (PyTorch's conv/linear default is U(±1/√fan_in) for both). */
function defaultFor(role: InitRole, scheme: InitScheme, fanIn: number, fanOut: number): Exclude<InitSpec, 'default'> {
  switch (role) {
    case 'normWeight':
    case 'runningVar':
      return 'ones';
    case 'normBias':
    case 'runningMean':
    case 'count':
      return 'zeros';
    case 'bias':
      return scheme === 'pytorch' ? { type: 'uniform', bound: 1 / Math.sqrt(fanIn) } : 'zeros';
    case 'weight':
      // The schemes' own bounds, written as they always were (so a seed keeps giving the same weights).
      if (scheme === 'he') return { type: 'uniform', bound: Math.sqrt(6 / fanIn) };
      if (scheme === 'glorot') return { type: 'uniform', bound: Math.sqrt(6 / (fanIn + fanOut)) };
      return { type: 'uniform', bound: 1 / Math.sqrt(fanIn) };
  }
}

function uniform(out: Float32Array, bound: number, rng: Rng): void {
  for (let i = 0; i < out.length; i++) out[i] = bound === 0 ? 0 : (2 * rng.uniform() - 1) * bound;
}

function normal(out: Float32Array, std: number, rng: Rng): void {
  for (let i = 0; i < out.length; i++) {
    // p in (0, 1) from 48 random bits, never 0 or 1.
    const p = (rng.nextU32() * 65536 + (rng.nextU32() >>> 16) + 0.5) / 2 ** 48;
    out[i] = std * inverseNormalCdf(p);
  }
}

/** ln(x) for x > 0 from IEEE +, −, ×, ÷ only: x = m·2^e with m in [√½, √2), then the atanh series of m. */
export function exactLn(x: number): number {
  let e = 0;
  let m = x;
  while (m >= Math.SQRT2) {
    m /= 2;
    e++;
  }
  while (m < Math.SQRT1_2) {
    m *= 2;
    e--;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  // |s| ≤ 0.1716: 14 odd terms reach double precision.
  let sum = 0;
  for (let k = 27; k >= 1; k -= 2) sum = sum * s2 + 1 / k;
  return 2 * s * sum + e * Math.LN2;
}

/** Acklam's rational approximation of the normal quantile (relative error < 1.15e-9), with exactLn. */
export function inverseNormalCdf(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo || p > 1 - lo) {
    const q = Math.sqrt(-2 * exactLn(p < lo ? p : 1 - p));
    const v = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < lo ? v : -v;
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** The legacy entry point (Sequential's layers): a weight or bias under the model's scheme. */
export function fillParam(out: Float32Array, kind: 'weight' | 'bias', fanIn: number, fanOut: number, scheme: InitScheme, rng: Rng): void {
  fill(out, 'default', kind, fanIn, fanOut, scheme, rng);
}
