// layerNorm: PyTorch's nn.LayerNorm over the trailing `normalizedShape` dims (elementwise affine);
// groupNorm: PyTorch's nn.GroupNorm (numGroups groups of channels, per-channel affine).
import { checkBool, checkInt, checkNumber, describe } from '../../errors.js';
import { checkInit } from '../init.js';
import { fmt, type Decl, type OpDef } from './op.js';

export interface NormAttrs {
  /** Groups normalised separately per sample: the leading dims (layerNorm) or numGroups (groupNorm). */
  groups: number;
  /** Values per group. */
  size: number;
  /** Affine parameters: one per `affineSize` values, repeated every `affinePeriod`. */
  channels: number;
  plane: number;
  eps: number;
  affine: boolean;
}

function affineDecls(where: string, s: Readonly<Record<string, unknown>>, shape: number[], fan: number): Decl[] {
  return [
    { name: 'weight', shape, init: checkInit(where, 'weightInit', s.weightInit ?? 'default'), role: 'normWeight', fanIn: fan, fanOut: fan, tags: ['norm', 'weight'] },
    { name: 'bias', shape, init: checkInit(where, 'biasInit', s.biasInit ?? 'default'), role: 'normBias', fanIn: fan, fanOut: fan, tags: ['norm', 'bias'] },
  ];
}

export const layerNorm: OpDef<NormAttrs> = {
  type: 'layerNorm',
  keys: ['normalizedShape', 'eps', 'elementwiseAffine', 'weightInit', 'biasInit'],
  arity: 1,
  build(where, s, [x]) {
    const ns = s.normalizedShape ?? x.slice(-1);
    if (!Array.isArray(ns) || ns.length === 0 || ns.length > x.length) {
      throw new TypeError(`${where}: normalizedShape must be the trailing dims of the input ${fmt(x)}, got ${describe(ns)}`);
    }
    ns.forEach((d, i) => checkInt(where, `normalizedShape[${i}]`, d, 1));
    if (fmt(ns) !== fmt(x.slice(x.length - ns.length))) throw new RangeError(`${where}: normalizedShape ${fmt(ns)} is not the trailing dims of the input ${fmt(x)}`);
    const size = ns.reduce((a: number, b: number) => a * b, 1);
    const eps = checkNumber(where, 'eps', s.eps ?? 1e-5, 0, Infinity, { loOpen: true });
    const affine = checkBool(where, 'elementwiseAffine', s.elementwiseAffine ?? true);
    const spec: Record<string, unknown> = { normalizedShape: [...ns], eps, elementwiseAffine: affine };
    const total = x.reduce((a, b) => a * b, 1);
    return { attrs: { groups: total / size, size, channels: size, plane: 1, eps, affine }, out: x, params: affine ? affineDecls(where, s, [...ns], size) : [], state: [], spec };
  },
};

export const groupNorm: OpDef<NormAttrs> = {
  type: 'groupNorm',
  keys: ['numGroups', 'eps', 'affine', 'weightInit', 'biasInit'],
  arity: 1,
  build(where, s, [x]) {
    if (x.length < 1) throw new RangeError(`${where}: expects a [channels, …] input, got ${fmt(x)}`);
    const c = x[0];
    const groups = checkInt(where, 'numGroups', s.numGroups, 1);
    if (c % groups !== 0) throw new RangeError(`${where}: numGroups ${groups} must divide the channels (${c})`);
    const plane = x.slice(1).reduce((a, b) => a * b, 1);
    const eps = checkNumber(where, 'eps', s.eps ?? 1e-5, 0, Infinity, { loOpen: true });
    const affine = checkBool(where, 'affine', s.affine ?? true);
    return { attrs: { groups, size: (c / groups) * plane, channels: c, plane, eps, affine }, out: x, params: affine ? affineDecls(where, s, [c], c) : [], state: [], spec: { numGroups: groups, eps, affine } };
  },
};
