// convTranspose2d: PyTorch's nn.ConvTranspose2d (weight [C, filters/groups, kh, kw]; output size
// (in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1).
import { checkBool, checkInt } from '../../errors.js';
import { pair, type Pair } from '../../ops/geometry.js';
import { checkInit } from '../init.js';
import { expectRank, type Decl, type OpDef } from './op.js';

export interface ConvTranspose2dAttrs {
  c: number; h: number; w: number; filters: number; groups: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; oph: number; opw: number;
  oh: number; ow: number;
  useBias: boolean;
}

export const convTranspose2d: OpDef<ConvTranspose2dAttrs> = {
  type: 'convTranspose2d',
  keys: ['filters', 'kernelSize', 'stride', 'padding', 'outputPadding', 'dilation', 'groups', 'useBias', 'weightInit', 'biasInit'],
  arity: 1,
  build(where, s, [x]) {
    expectRank(where, x, [3], 'a [channels, height, width] input');
    const [c, h, w] = x;
    const filters = checkInt(where, 'filters', s.filters, 1);
    const groups = checkInt(where, 'groups', s.groups ?? 1, 1);
    if (c % groups !== 0 || filters % groups !== 0) throw new RangeError(`${where}: groups ${groups} must divide the input channels (${c}) and filters (${filters})`);
    const [kh, kw] = pair(where, 'kernelSize', s.kernelSize as Pair, 1, 1);
    const [sh, sw] = pair(where, 'stride', s.stride as Pair | undefined, 1, 1);
    const [ph, pw] = pair(where, 'padding', s.padding as Pair | undefined, 0, 0);
    const [dh, dw] = pair(where, 'dilation', s.dilation as Pair | undefined, 1, 1);
    const [oph, opw] = pair(where, 'outputPadding', s.outputPadding as Pair | undefined, 0, 0);
    // PyTorch: output padding must be smaller than either stride or dilation.
    if (!(oph < Math.max(sh, dh) && opw < Math.max(sw, dw))) {
      throw new RangeError(`${where}: outputPadding [${oph}, ${opw}] must be smaller than stride or dilation in each axis`);
    }
    const oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
    const ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
    if (!(oh >= 1 && ow >= 1)) throw new RangeError(`${where}: the output would be ${oh}×${ow}: padding too large for this input`);
    const useBias = checkBool(where, 'useBias', s.useBias ?? true);
    // torch's fans for a [C, F/groups, kh, kw] weight: fan_in = F/groups · k², fan_out = C · k².
    const fanIn = (filters / groups) * kh * kw;
    const fanOut = c * kh * kw;
    const params: Decl[] = [{ name: 'weight', shape: [c, filters / groups, kh, kw], init: checkInit(where, 'weightInit', s.weightInit ?? 'default'), role: 'weight', fanIn, fanOut, tags: ['weight'] }];
    if (useBias) params.push({ name: 'bias', shape: [filters], init: checkInit(where, 'biasInit', s.biasInit ?? 'default'), role: 'bias', fanIn, fanOut, tags: ['bias'] });
    const spec: Record<string, unknown> = { filters, kernelSize: s.kernelSize, useBias };
    for (const k of ['stride', 'padding', 'outputPadding', 'dilation', 'weightInit', 'biasInit'] as const) if (s[k] !== undefined) spec[k] = s[k];
    if (groups !== 1) spec.groups = groups;
    return { attrs: { c, h, w, filters, groups, kh, kw, sh, sw, ph, pw, dh, dw, oph, opw, oh, ow, useBias }, out: [filters, oh, ow], params, state: [], spec };
  },
};
