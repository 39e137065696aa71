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
  backward(batch: number, accumulate: boolean): void;
  dispose(): void;
}

/** Operator kinds of the wasm ABI (crates/core/src/operator/mod.rs `kind`). */
export const KIND = { conv2d: 1, maxPool2d: 2, dense: 3, relu: 4, softmaxCrossEntropy: 5 } as const;
/** Flag bits of forward/backward calls (`operator::flags`). */
export const FLAG = { train: 1, accumulate: 2 } as const;

interface OpExports {
  wcnn_op_create(kind: number, desc: number, n: number, fdesc: number, nf: number): number;
  wcnn_op_io(op: number): number;
  wcnn_op_forward(op: number, io: number, batch: number, flags: number): number;
  wcnn_op_backward(op: number, io: number, batch: number, flags: number): number;
  wcnn_op_destroy(op: number): void;
}

/** One operator object and its own io block; refusals become RangeErrors naming `where`. */
export class OpObject {
  readonly #engine: Engine;
  readonly #where: string;
  #op: number;

  constructor(engine: Engine, kind: number, ints: readonly number[], floats: readonly number[], where: string) {
    this.#engine = engine;
    this.#where = where;
    const ex = engine.exports as unknown as OpExports;
    this.#op = engine.scoped((s) => {
      const d = s.u32(Math.max(ints.length, 1), 'op descriptor', ints);
      const f = s.f32(Math.max(2 * floats.length, 2), 'op float descriptor');
      new Float64Array(engine.exports.memory.buffer, f.ptr, floats.length).set(floats);
      return ex.wcnn_op_create(kind, d.ptr, ints.length, f.ptr, floats.length);
    });
    if (this.#op <= 0) throw new RangeError(`${where}: the kernel refused this layer (code ${-this.#op})`);
  }

  get io(): number {
    return (this.#engine.exports as unknown as OpExports).wcnn_op_io(this.#op) >>> 0;
  }

  setSlots(addrs: readonly number[]): void {
    new Uint32Array(this.#engine.exports.memory.buffer, this.io, addrs.length).set(addrs);
  }

  #check(code: number, what: string): void {
    if (code !== 0) throw new RangeError(`${this.#where}: ${what} refused (code ${code})`);
  }

  forward(batch: number, flags: number): void {
    this.#check((this.#engine.exports as unknown as OpExports).wcnn_op_forward(this.#op, this.io, batch, flags), 'forward');
  }

  backward(batch: number, flags: number): void {
    this.#check((this.#engine.exports as unknown as OpExports).wcnn_op_backward(this.#op, this.io, batch, flags), 'backward');
  }

  dispose(): void {
    if (this.#op > 0 && !this.#engine.poisoned) (this.#engine.exports as unknown as OpExports).wcnn_op_destroy(this.#op);
    this.#op = 0;
  }
}

/** A node run by one operator object whose io block has the given slot roles. */
function opBound(engine: Engine, kind: number, ints: number[], floats: number[], where: string, slots: Role[], saved?: Bound['saved']): Bound {
  const op = new OpObject(engine, kind, ints, floats, where);
  return {
    saved,
    bind: (addr) => op.setSlots(slots.map(addr)),
    forward: (batch, train) => op.forward(batch, train ? FLAG.train : 0),
    backward: (batch, accumulate) => op.backward(batch, FLAG.train | (accumulate ? FLAG.accumulate : 0)),
    dispose: () => op.dispose(),
  };
}

const windowInts = (g: Window) => [g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.oh, g.ow];
const GEMM_SLOTS: Role[] = [
  { k: 'in', i: 0 }, { k: 'param', name: 'weight' }, { k: 'param', name: 'bias' }, { k: 'out' },
  { k: 'dout' }, { k: 'din', i: 0 }, { k: 'grad', name: 'weight' }, { k: 'grad', name: 'bias' },
];

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
      const w = a.window;
      return opBound(engine, KIND.conv2d, [w.c, w.h, w.w, a.filters, w.kh, w.kw, w.sh, w.sw, w.pt, w.pl, w.dh, w.dw, w.oh, w.ow, fusion.relu ? 1 : 0], [], where, GEMM_SLOTS);
    }
    case 'dense': {
      const a = node.attrs as DenseAttrs;
      return opBound(engine, KIND.dense, [a.inputs, a.units, fusion.relu ? 1 : 0], [], where, GEMM_SLOTS);
    }
    case 'maxPool2d':
      return opBound(engine, KIND.maxPool2d, windowInts(node.attrs as Window), [], where, [{ k: 'in', i: 0 }, { k: 'out' }, { k: 'saved' }, { k: 'dout' }, { k: 'din', i: 0 }], {
        perSample: per(node.output), fixed: 0, u32: true,
      });
    case 'relu':
      return opBound(engine, KIND.relu, [per(node.output)], [], where, [{ k: 'in', i: 0 }, { k: 'out' }, { k: 'dout' }, { k: 'din', i: 0 }]);
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
