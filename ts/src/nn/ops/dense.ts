// dense: PyTorch's nn.Linear (weight [out, in], y = x·Wᵀ + b) on a flat input.
import { checkBool, checkInt } from '../../errors.js';
import { checkInit, type InitSpec } from '../init.js';
import { fmt, type Decl, type OpDef } from './op.js';

export interface DenseSpec {
  type: 'dense';
  name?: string;
  units: number;
  useBias?: boolean;
  weightInit?: InitSpec;
  biasInit?: InitSpec;
}

export interface DenseAttrs {
  inputs: number;
  units: number;
  useBias: boolean;
}

export const dense: OpDef<DenseAttrs> = {
  type: 'dense',
  keys: ['units', 'useBias', 'weightInit', 'biasInit'],
  arity: 1,
  build(where, s, [x]) {
    if (x.length !== 1) throw new RangeError(`${where}: expects a flat input, got ${fmt(x)}; add { type: 'flatten' } before it`);
    const units = checkInt(where, 'units', s.units, 1);
    const useBias = checkBool(where, 'useBias', s.useBias ?? true);
    const inputs = x[0];
    const params = [{ name: 'weight', shape: [units, inputs], init: checkInit(where, 'weightInit', s.weightInit ?? 'default'), role: 'weight', fanIn: inputs, fanOut: units, tags: ['weight'] }] as Decl[];
    if (useBias) params.push({ name: 'bias', shape: [units], init: checkInit(where, 'biasInit', s.biasInit ?? 'default'), role: 'bias', fanIn: inputs, fanOut: units, tags: ['bias'] });
    const spec: Record<string, unknown> = { units, useBias };
    for (const k of ['weightInit', 'biasInit'] as const) if (s[k] !== undefined) spec[k] = s[k];
    return { attrs: { inputs, units, useBias }, out: [units], params, state: [], spec };
  },
};
