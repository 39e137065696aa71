// relu: max(x, 0), elementwise; fused into a conv2d or dense that feeds it alone.
import type { OpDef } from './op.js';

export const relu: OpDef<null> = {
  type: 'relu',
  keys: [],
  arity: 1,
  build(_where, _s, [x]) {
    return { attrs: null, out: x, params: [], state: [], spec: {} };
  },
};
