// dropout / dropout2d: PyTorch's nn.Dropout (each value) and nn.Dropout2d (whole channels), inverted scaling
// by 1/(1−p), the identity in eval. The mask is a hash of (the model's seed, the step, the element), so it
// is the same for any thread count and in every runtime.
import { checkNumber } from '../../errors.js';
import { expectRank, type OpDef } from './op.js';

export interface DropoutAttrs {
  p: number;
  /** Values sharing one draw: 1 (dropout) or the plane (dropout2d). */
  group: number;
}

function dropout(type: 'dropout' | 'dropout2d'): OpDef<DropoutAttrs> {
  return {
    type,
    keys: ['p'],
    arity: 1,
    build(where, s, [x]) {
      if (type === 'dropout2d') expectRank(where, x, [3], 'a [channels, height, width] input');
      const p = checkNumber(where, 'p', s.p ?? 0.5, 0, 1, { hiOpen: true });
      const group = type === 'dropout2d' ? x[1] * x[2] : 1;
      return { attrs: { p, group }, out: x, params: [], state: [], spec: { p } };
    },
  };
}

export const dropoutOp = dropout('dropout');
export const dropout2d = dropout('dropout2d');
