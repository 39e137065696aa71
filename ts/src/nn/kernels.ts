// Kernel bindings: how a graph node (with what the plan fused into it) runs, as an operator object of the
// wasm ABI (an op kind, its descriptor, and the roles of its io block's slots), or as a few generic copies
// for the merges that need no kernel of their own. The plan fills every slot once from the roles.
import type { Engine } from '../runtime/engine.js';
import type { GraphNode } from './graph.js';
import type { Model } from './model.js';
import type { Conv2dAttrs } from './ops/conv2d.js';
import type { DenseAttrs } from './ops/dense.js';
import type { ConcatAttrs } from './ops/merge.js';
import { numel } from './ops/op.js';
import type { Window } from '../ops/geometry.js';
import { Activation, OpFlags, WasmOp, type OpDef as OpDefABI } from '../runtime/op.js';
import { CONV2D, DENSE, MAXPOOL2D, RELU } from '../runtime/op-defs.js';

/** What the plan fuses into a node. */
export interface Fusion {
  /** A ReLU after it runs in its epilogue. */
  relu?: boolean;
  /** (infer) The BatchNorm node folded into this conv. */
  foldBn?: number;
  foldInto?: number;
}

/** A slot's meaning: an input / output activation or its gradient, a parameter or its gradient, a buffer. */
export type Role =
  | { k: 'in'; i: number }
  | { k: 'out' }
  | { k: 'din'; i: number }
  | { k: 'dout' }
  | { k: 'param' | 'grad' | 'state'; name: string; node?: number }
  | { k: 'saved' }
  | { k: 'null' };

export interface Bound {
  /** Values kept from forward to backward: per sample, plus a fixed part (per-channel statistics). */
  readonly saved?: { perSample: number; fixed: number; u32?: boolean };
  /** Writes the io block(s) once: `addr` gives each role's address. */
  bind(addr: (r: Role) => number): void;
  forward(batch: number, train: boolean): void;
  backward(batch: number, accumulate: boolean, train: boolean): void;
  dispose(): void;
}

/** A node run by one operator object, each io slot given its role. */
function opBound<D extends OpDefABI>(
  engine: Engine,
  def: D,
  attrs: Record<keyof D['ints'] & string, number>,
  where: string,
  roles: Partial<Record<D['slots'][number], Role>>,
  saved?: Bound['saved'],
  floats: number[] = [],
): Bound {
  const op = new WasmOp(engine, def, where, attrs, floats);
  return {
    saved,
    bind: (addr) => op.bind(Object.fromEntries(def.slots.map((s: D['slots'][number]) => [s, roles[s] ? addr(roles[s]!) : 0]))),
    forward: (batch, train) => op.forward(batch, undefined, train ? OpFlags.TRAIN : 0),
    backward: (batch, accumulate, train) => op.backward(batch, undefined, (train ? OpFlags.TRAIN : 0) | (accumulate ? OpFlags.ACCUMULATE : 0)),
    dispose: () => op.dispose(),
  };
}

const windowAttrs = (g: Window) => ({ c: g.c, h: g.h, w: g.w, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, pt: g.pt, pl: g.pl, dh: g.dh, dw: g.dw, oh: g.oh, ow: g.ow });
const GEMM_SLOTS = {
  x: { k: 'in', i: 0 }, weight: { k: 'param', name: 'weight' }, bias: { k: 'param', name: 'bias' }, y: { k: 'out' },
  dy: { k: 'dout' }, dx: { k: 'din', i: 0 }, dweight: { k: 'grad', name: 'weight' }, dbias: { k: 'grad', name: 'bias' },
} as const;

/** Binds node `index` of `model` for `mode`; throws (naming the path) when its kernel refuses the node. */
export function bindStep(model: Model, node: GraphNode, _index: number, fusion: Fusion, mode: 'train' | 'infer'): Bound {
  const engine = model.engine;
  const where = `'${node.path}' (${node.type})`;
  const g = model.graph;
  const per = (v: number) => numel(g.values[v]);
  switch (node.type) {
    case 'conv2d': {
      const a = node.attrs as Conv2dAttrs;
      if (a.groups !== 1 || fusion.foldBn !== undefined) break;
      return opBound(engine, CONV2D, { ...windowAttrs(a.window), o: a.filters, activation: fusion.relu ? Activation.relu : Activation.none }, where, GEMM_SLOTS);
    }
    case 'dense': {
      const a = node.attrs as DenseAttrs;
      return opBound(engine, DENSE, { in: a.inputs, out: a.units, activation: fusion.relu ? Activation.relu : Activation.none }, where, GEMM_SLOTS);
    }
    case 'maxPool2d':
      return opBound(engine, MAXPOOL2D, windowAttrs(node.attrs as Window), where, { x: { k: 'in', i: 0 }, y: { k: 'out' }, argmax: { k: 'saved' }, dy: { k: 'dout' }, dx: { k: 'din', i: 0 } }, {
        perSample: per(node.output), fixed: 0, u32: true,
      });
    case 'relu':
      return opBound(engine, RELU, { n: per(node.output) }, where, { x: { k: 'in', i: 0 }, y: { k: 'out' }, dy: { k: 'dout' }, dx: { k: 'din', i: 0 } });
    case 'add':
      return copyMerge(engine, node, g.values.map((s) => numel(s)), 'add');
    case 'concat':
      return copyMerge(engine, node, g.values.map((s) => numel(s)), 'concat', node.attrs as ConcatAttrs);
  }
  throw new RangeError(`${where}: this build has no kernel for it${mode === 'infer' ? ' in inference' : ''} yet`);
}

/** add (y = a + b) and concat (per-sample copies) from the generic copy and add exports. */
function copyMerge(engine: Engine, node: GraphNode, per: number[], kind: 'add' | 'concat', c?: ConcatAttrs): Bound {
  let [ins, out, dins, dout] = [[] as number[], 0, [] as number[], 0];
  const n = node.inputs.length;
  const outPer = per[node.output];
  return {
    bind(addr) {
      ins = node.inputs.map((_, i) => addr({ k: 'in', i }));
      dins = node.inputs.map((_, i) => addr({ k: 'din', i }));
      out = addr({ k: 'out' });
      dout = addr({ k: 'dout' });
    },
    forward(batch) {
      const ex = engine.exports;
      if (kind === 'add') {
        ex.wcnn_copy(out, ins[0], 4 * batch * outPer);
        for (let i = 1; i < n; i++) ex.wcnn_add_into(out, ins[i], batch * outPer);
        return;
      }
      for (let s = 0; s < batch; s++) {
        let at = 0;
        c!.channels.forEach((ch, i) => {
          const len = ch * c!.plane;
          ex.wcnn_copy(out + 4 * (s * outPer + at), ins[i] + 4 * s * len, 4 * len);
          at += len;
        });
      }
    },
    backward(batch) {
      const ex = engine.exports;
      if (kind === 'add') {
        for (const d of dins) if (d !== 0) ex.wcnn_copy(d, dout, 4 * batch * outPer);
        return;
      }
      for (let s = 0; s < batch; s++) {
        let at = 0;
        c!.channels.forEach((ch, i) => {
          const len = ch * c!.plane;
          if (dins[i] !== 0) ex.wcnn_copy(dins[i] + 4 * s * len, dout + 4 * (s * outPer + at), 4 * len);
          at += len;
        });
      }
    },
    dispose() {},
  };
}
