// maxPool2d: PyTorch's nn.MaxPool2d (stride defaults to the pool size, padding is −∞).
import { poolWindow } from '../../ops/pool.js';
import type { Pair, Window } from '../../ops/geometry.js';
import { expectRank, type OpDef } from './op.js';

export interface MaxPool2dSpec {
  type: 'maxPool2d';
  name?: string;
  poolSize: Pair;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

export const maxPool2d: OpDef<Window> = {
  type: 'maxPool2d',
  keys: ['poolSize', 'stride', 'padding', 'dilation'],
  arity: 1,
  build(where, s, [x]) {
    expectRank(where, x, [3], 'a [channels, height, width] input');
    const [c, h, w] = x;
    const g = poolWindow(where, 1, c, h, w, { kernelSize: s.poolSize as Pair, stride: s.stride as Pair | undefined, padding: s.padding as Pair | undefined, dilation: s.dilation as Pair | undefined });
    const spec: Record<string, unknown> = { poolSize: s.poolSize };
    for (const k of ['stride', 'padding', 'dilation'] as const) if (s[k] !== undefined) spec[k] = s[k];
    return { attrs: g, out: [c, g.oh, g.ow], params: [], state: [], spec };
  },
};
