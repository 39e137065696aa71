// The merges the containers make: add (residual), concat (channels), mul (a gate broadcast over the plane).
import { fmt, type OpDef, type Shape } from './op.js';

export const add: OpDef<null> = {
  type: 'add',
  keys: [],
  arity: 'many',
  build(where, _s, ins) {
    // nn/graph.ts checked the shapes (naming the shortcut); this is the op's own invariant.
    if (ins.some((s) => fmt(s) !== fmt(ins[0]))) throw new RangeError(`${where}: shapes ${ins.map(fmt).join(', ')} cannot add`);
    return { attrs: null, out: ins[0], params: [], state: [], spec: {} };
  },
};

export interface ConcatAttrs {
  /** Channels of each input, in order. */
  channels: number[];
  /** Values per channel (the plane): the same for every input. */
  plane: number;
}

export const concat: OpDef<ConcatAttrs> = {
  type: 'concat',
  keys: [],
  arity: 'many',
  build(where, _s, ins) {
    const rest = (s: Shape) => fmt(s.slice(1));
    const bad = ins.findIndex((s) => s.length !== ins[0].length || rest(s) !== rest(ins[0]));
    if (bad >= 0) {
      throw new RangeError(`${where}: branch ${bad} outputs ${fmt(ins[bad])}, which cannot concatenate along channels with branch 0's ${fmt(ins[0])}`);
    }
    const channels = ins.map((s) => s[0]);
    const plane = ins[0].slice(1).reduce((a, b) => a * b, 1);
    return { attrs: { channels, plane }, out: [channels.reduce((a, b) => a + b, 0), ...ins[0].slice(1)], params: [], state: [], spec: {} };
  },
};

export interface MulAttrs {
  channels: number;
  plane: number;
}

export const mul: OpDef<MulAttrs> = {
  type: 'mul',
  keys: [],
  arity: 'many',
  build(where, _s, [x, g]) {
    const c = x[0];
    const ok = g.length >= 1 && g[0] === c && g.slice(1).every((d) => d === 1);
    if (!ok) throw new RangeError(`${where}: the gate outputs ${fmt(g)}, expected [${c}] or [${c}, 1, 1] to scale the input ${fmt(x)}`);
    return { attrs: { channels: c, plane: x.slice(1).reduce((a, b) => a * b, 1) }, out: x, params: [], state: [], spec: {} };
  },
};
