// Elementwise activations (PyTorch's nn.ReLU6, LeakyReLU, ELU, GELU, SiLU, Hardswish, Hardsigmoid, Sigmoid,
// Tanh). ReLU has its own file: it fuses into conv2d and dense.
import { checkNumber, describe } from '../../errors.js';
import type { OpDef } from './op.js';

export type ActivationType = 'relu6' | 'leakyRelu' | 'elu' | 'gelu' | 'silu' | 'hardswish' | 'hardsigmoid' | 'sigmoid' | 'tanh';

export interface ActivationAttrs {
  type: ActivationType;
  /** LeakyReLU's negative slope (default 0.01), ELU's alpha (default 1). */
  alpha: number;
  /** GELU: 'none' (exact, erf) or 'tanh'. */
  approximate: 'none' | 'tanh';
}

function activation(type: ActivationType, keys: string[] = []): OpDef<ActivationAttrs> {
  return {
    type,
    keys,
    arity: 1,
    build(where, s, [x]) {
      let alpha = 0;
      let approximate: 'none' | 'tanh' = 'none';
      const spec: Record<string, unknown> = {};
      if (type === 'leakyRelu') alpha = spec.negativeSlope = checkNumber(where, 'negativeSlope', s.negativeSlope ?? 0.01);
      if (type === 'elu') alpha = spec.alpha = checkNumber(where, 'alpha', s.alpha ?? 1);
      if (type === 'gelu') {
        const a = s.approximate ?? 'none';
        if (a !== 'none' && a !== 'tanh') throw new TypeError(`${where}: approximate must be 'none' or 'tanh', got ${describe(a)}`);
        approximate = spec.approximate = a;
      }
      return { attrs: { type, alpha, approximate }, out: x, params: [], state: [], spec };
    },
  };
}

export const relu6 = activation('relu6');
export const leakyRelu = activation('leakyRelu', ['negativeSlope']);
export const elu = activation('elu', ['alpha']);
export const gelu = activation('gelu', ['approximate']);
export const silu = activation('silu');
export const hardswish = activation('hardswish');
export const hardsigmoid = activation('hardsigmoid');
export const sigmoid = activation('sigmoid');
export const tanh = activation('tanh');
export const ACTIVATIONS = [relu6, leakyRelu, elu, gelu, silu, hardswish, hardsigmoid, sigmoid, tanh];
