// flatten: [C, H, W] → [C·H·W]. NCHW is already C·H·W-major per sample, so it is a reinterpretation, not a copy.
import { numel, type OpDef } from './op.js';

export const flatten: OpDef<null> = {
  type: 'flatten',
  keys: [],
  arity: 1,
  build(_where, _s, [x]) {
    return { attrs: null, out: [numel(x)], params: [], state: [], spec: {} };
  },
};
