// avgPool2d: PyTorch's nn.AvgPool2d (stride defaults to the pool size; ceilMode, countIncludePad,
// divisorOverride); adaptiveAvgPool2d: PyTorch's nn.AdaptiveAvgPool2d (windows start ⌊i·in/out⌋, end
// ⌈(i+1)·in/out⌉), with globalAvgPool2d its 1×1 case.
import { checkBool, checkInt } from '../../errors.js';
import { pair, type Pair } from '../../ops/geometry.js';
import { expectRank, type OpDef } from './op.js';

export interface AvgPool2dAttrs {
  c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  oh: number; ow: number;
  ceilMode: boolean;
  countIncludePad: boolean;
  /** 0: the window's own count. */
  divisor: number;
}

/** PyTorch's pooling output size (pooling_output_shape): floor or ceil, and no window starting in the right padding. */
export function poolOut(where: string, axis: string, input: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = d * (k - 1) + 1;
  const num = input + 2 * p - span + (ceil ? s - 1 : 0);
  let out = Math.floor(num / s) + 1;
  if (ceil && (out - 1) * s >= input + p) out--;
  if (!(out >= 1)) throw new RangeError(`${where}: a ${k}-wide window (stride ${s}, padding ${p}) does not fit the ${axis} of ${input}`);
  return out;
}

export const avgPool2d: OpDef<AvgPool2dAttrs> = {
  type: 'avgPool2d',
  keys: ['poolSize', 'stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'],
  arity: 1,
  build(where, s, [x]) {
    expectRank(where, x, [3], 'a [channels, height, width] input');
    const [c, h, w] = x;
    const [kh, kw] = pair(where, 'poolSize', s.poolSize as Pair, 1, 1);
    const [sh, sw] = s.stride === undefined ? [kh, kw] : pair(where, 'stride', s.stride as Pair, 1, 1);
    const [ph, pw] = pair(where, 'padding', s.padding as Pair | undefined, 0, 0);
    // PyTorch: padding at most half the kernel.
    checkInt(where, 'padding[0]', ph, 0, Math.floor(kh / 2));
    checkInt(where, 'padding[1]', pw, 0, Math.floor(kw / 2));
    const ceilMode = checkBool(where, 'ceilMode', s.ceilMode ?? false);
    const countIncludePad = checkBool(where, 'countIncludePad', s.countIncludePad ?? true);
    const divisor = s.divisorOverride === undefined ? 0 : checkInt(where, 'divisorOverride', s.divisorOverride, 1);
    const oh = poolOut(where, 'height', h, kh, sh, ph, 1, ceilMode);
    const ow = poolOut(where, 'width', w, kw, sw, pw, 1, ceilMode);
    const spec: Record<string, unknown> = { poolSize: s.poolSize, ceilMode, countIncludePad };
    for (const k of ['stride', 'padding', 'divisorOverride'] as const) if (s[k] !== undefined) spec[k] = s[k];
    return { attrs: { c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, ceilMode, countIncludePad, divisor }, out: [c, oh, ow], params: [], state: [], spec };
  },
};

export interface AdaptivePoolAttrs {
  c: number; h: number; w: number; oh: number; ow: number;
}

function adaptive(type: 'adaptiveAvgPool2d' | 'globalAvgPool2d'): OpDef<AdaptivePoolAttrs> {
  return {
    type,
    keys: type === 'adaptiveAvgPool2d' ? ['outputSize'] : [],
    arity: 1,
    build(where, s, [x]) {
      expectRank(where, x, [3], 'a [channels, height, width] input');
      const [c, h, w] = x;
      const [oh, ow] = type === 'globalAvgPool2d' ? [1, 1] : pair(where, 'outputSize', s.outputSize as Pair, 1, 1);
      return { attrs: { c, h, w, oh, ow }, out: [c, oh, ow], params: [], state: [], spec: type === 'globalAvgPool2d' ? {} : { outputSize: s.outputSize } };
    },
  };
}

export const adaptiveAvgPool2d = adaptive('adaptiveAvgPool2d');
export const globalAvgPool2d = adaptive('globalAvgPool2d');
