// conv2d: PyTorch's nn.Conv2d (OIHW weight [O, C/groups, kh, kw], optional bias, stride, padding, dilation,
// groups; depthwise when groups = C).
import { checkBool, checkInt } from '../../errors.js';
import { pair, resolveWindow, type Padding, type Pair, type Window } from '../../ops/geometry.js';
import { checkInit, type InitSpec } from '../init.js';
import { expectRank, fmt, type Decl, type OpDef } from './op.js';

export interface Conv2dSpec {
  type: 'conv2d';
  name?: string;
  /** Output channels. */
  filters: number;
  kernelSize: Pair;
  stride?: Pair;
  /** 'valid' (default), 'same', an integer or [h, w] zero padding. */
  padding?: Padding;
  dilation?: Pair;
  /** Channel groups (PyTorch's `groups`): C and filters must be multiples; groups = C is a depthwise conv. */
  groups?: number;
  useBias?: boolean;
  weightInit?: InitSpec;
  biasInit?: InitSpec;
}

export interface Conv2dAttrs {
  window: Window;
  filters: number;
  groups: number;
  useBias: boolean;
}

export const conv2d: OpDef<Conv2dAttrs> = {
  type: 'conv2d',
  keys: ['filters', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'useBias', 'weightInit', 'biasInit'],
  arity: 1,
  build(where, s, [x]) {
    expectRank(where, x, [3], 'a [channels, height, width] input');
    const filters = checkInt(where, 'filters', s.filters, 1);
    const kernel = pair(where, 'kernelSize', s.kernelSize as Pair, 1, 1);
    const [c, h, w] = x;
    const groups = checkInt(where, 'groups', s.groups ?? 1, 1);
    if (c % groups !== 0 || filters % groups !== 0) {
      throw new RangeError(`${where}: groups ${groups} must divide the input channels (${c}) and filters (${filters})`);
    }
    const window = resolveWindow(where, 1, c, h, w, {
      kernel,
      stride: pair(where, 'stride', s.stride as Pair | undefined, 1, 1),
      padding: (s.padding as Padding | undefined) ?? 'valid',
      dilation: pair(where, 'dilation', s.dilation as Pair | undefined, 1, 1),
    });
    const useBias = checkBool(where, 'useBias', s.useBias ?? true);
    const receptive = kernel[0] * kernel[1];
    // torch's fans: fan_in = C/groups · k², fan_out = O · k² (torch.nn.init._calculate_fan_in_and_fan_out).
    const fanIn = (c / groups) * receptive;
    const fanOut = filters * receptive;
    const weightInit = checkInit(where, 'weightInit', s.weightInit ?? 'default');
    const params = [{ name: 'weight', shape: [filters, c / groups, kernel[0], kernel[1]], init: weightInit, role: 'weight', fanIn, fanOut, tags: ['weight'] }] as Decl[];
    const spec: Record<string, unknown> = { filters, kernelSize: s.kernelSize, useBias };
    for (const k of ['stride', 'padding', 'dilation', 'weightInit', 'biasInit'] as const) if (s[k] !== undefined) spec[k] = s[k];
    if (groups !== 1) spec.groups = groups;
    if (useBias) params.push({ name: 'bias', shape: [filters], init: checkInit(where, 'biasInit', s.biasInit ?? 'default'), role: 'bias', fanIn, fanOut, tags: ['bias'] });
    const out = [filters, window.oh, window.ow];
    if (out.some((d) => !(d >= 1))) throw new RangeError(`${where}: output ${fmt(out)} is empty`);
    return { attrs: { window, filters, groups, useBias }, out, params, state: [], spec };
  },
};
