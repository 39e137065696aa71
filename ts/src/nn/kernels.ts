// Kernel bindings: how a graph node (with what the plan fused into it) runs, as an operator object of the
// wasm ABI: an op kind, its descriptor, and the roles of its io block's slots, which the plan fills once.
// In 'infer' plans a conv followed by a BatchNorm runs as one conv over folded weights owned by its step.
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';
import type { GraphNode } from './graph.js';
import type { Model } from './model.js';
import type { ActivationAttrs } from './ops/activation.js';
import type { AdaptivePoolAttrs, AvgPool2dAttrs } from './ops/avg-pool2d.js';
import type { BatchNormAttrs } from './ops/batch-norm.js';
import type { ConvTranspose2dAttrs } from './ops/conv-transpose2d.js';
import type { Conv2dAttrs } from './ops/conv2d.js';
import type { DenseAttrs } from './ops/dense.js';
import type { DropoutAttrs } from './ops/dropout.js';
import type { ConcatAttrs, MulAttrs } from './ops/merge.js';
import type { NormAttrs } from './ops/norm.js';
import { numel } from './ops/op.js';
import type { Window } from '../ops/geometry.js';
import { Activation, OpFlags, WasmOp, type OpDef as OpDefABI } from '../runtime/op.js';
import {
  ACTIVATION, ACTIVATION_KINDS, ADAPTIVE_POOL2D, ADD, AVG_POOL2D, BATCH_NORM, CONCAT_MAX_INPUTS, CONV2D, CONV_TRANSPOSE2D, DENSE,
  DROPOUT, GATE, GROUP_NORM, LAYER_NORM, MAXPOOL2D, RELU, concatDef,
} from '../runtime/op-defs.js';

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
  /** Part `part` (default 0) of the step's saved buffer. */
  | { k: 'saved'; part?: number }
  /** The plan's dropout counter (one u64 as two u32), written before each training forward. */
  | { k: 'counter' }
  | { k: 'null' };

export interface Bound {
  /** Values kept from forward to backward: `parts` (default 1) buffers of `perSample` per sample plus `fixed`. */
  readonly saved?: { perSample: number; fixed: number; u32?: boolean; parts?: number };
  /** Writes the io block(s) once: `addr` gives each role's address. */
  bind(addr: (r: Role) => number): void;
  forward(batch: number, train: boolean): void;
  backward(batch: number, accumulate: boolean, train: boolean): void;
  dispose(): void;
}

/** A node run by one operator object, each io slot given its role (or a fixed address). */
function opBound<D extends OpDefABI>(
  engine: Engine,
  def: D,
  attrs: Record<keyof D['ints'] & string, number>,
  where: string,
  roles: Partial<Record<D['slots'][number], Role | number>>,
  saved?: Bound['saved'],
  floats: number[] = [],
): Bound & { op: WasmOp } {
  const op = new WasmOp(engine, def, where, attrs, floats);
  const at = (addr: (r: Role) => number, r: Role | number | undefined) => (r === undefined ? 0 : typeof r === 'number' ? r : addr(r));
  return {
    op,
    saved,
    bind: (addr) => op.bind(Object.fromEntries(def.slots.map((s: D['slots'][number]) => [s, at(addr, roles[s])]))),
    forward: (batch, train) => op.forward(batch, undefined, train ? OpFlags.TRAIN : 0),
    backward: (batch, accumulate, train) => op.backward(batch, undefined, (train ? OpFlags.TRAIN : 0) | (accumulate ? OpFlags.ACCUMULATE : 0)),
    dispose: () => op.dispose(),
  };
}

const windowAttrs = (g: Window) => ({ c: g.c, h: g.h, w: g.w, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, pt: g.pt, pl: g.pl, dh: g.dh, dw: g.dw, oh: g.oh, ow: g.ow });
const IO = { x: { k: 'in', i: 0 }, y: { k: 'out' }, dy: { k: 'dout' }, dx: { k: 'din', i: 0 } } as const;
const GEMM_SLOTS = {
  ...IO, weight: { k: 'param', name: 'weight' }, bias: { k: 'param', name: 'bias' }, dweight: { k: 'grad', name: 'weight' }, dbias: { k: 'grad', name: 'bias' },
} as const;
const NORM_SLOTS = { ...GEMM_SLOTS, mean: { k: 'saved', part: 0 }, rstd: { k: 'saved', part: 1 } } as const;
const flag = (b: boolean) => (b ? 1 : 0);

/** Binds node `index` of `model` for `mode`; throws (naming the path) when its kernel refuses the node. */
export function bindStep(model: Model, node: GraphNode, index: number, fusion: Fusion, mode: 'train' | 'infer'): Bound {
  const engine = model.engine;
  const where = `'${node.path}' (${node.type})`;
  const g = model.graph;
  const per = (v: number) => numel(g.values[v]);
  const relu = fusion.relu ? Activation.relu : Activation.none;
  switch (node.type) {
    case 'conv2d': {
      const a = node.attrs as Conv2dAttrs;
      const attrs = { ...windowAttrs(a.window), o: a.filters, activation: relu, groups: a.groups };
      if (fusion.foldBn !== undefined) return foldedConv(model, index, fusion.foldBn, a, opBound(engine, CONV2D, attrs, where, {}));
      return opBound(engine, CONV2D, attrs, where, GEMM_SLOTS);
    }
    case 'convTranspose2d': {
      const a = node.attrs as ConvTranspose2dAttrs;
      const attrs = { c: a.c, h: a.h, w: a.w, o: a.filters, kh: a.kh, kw: a.kw, sh: a.sh, sw: a.sw, pt: a.ph, pl: a.pw, dh: a.dh, dw: a.dw, oh: a.oh, ow: a.ow, groups: a.groups };
      return opBound(engine, CONV_TRANSPOSE2D, attrs, where, GEMM_SLOTS);
    }
    case 'dense': {
      const a = node.attrs as DenseAttrs;
      return opBound(engine, DENSE, { in: a.inputs, out: a.units, activation: relu }, where, GEMM_SLOTS);
    }
    case 'maxPool2d':
      return opBound(engine, MAXPOOL2D, windowAttrs(node.attrs as Window), where, { ...IO, argmax: { k: 'saved' } }, { perSample: per(node.output), fixed: 0, u32: true });
    case 'avgPool2d': {
      const a = node.attrs as AvgPool2dAttrs;
      const attrs = { c: a.c, h: a.h, w: a.w, kh: a.kh, kw: a.kw, sh: a.sh, sw: a.sw, ph: a.ph, pw: a.pw, oh: a.oh, ow: a.ow, ceil: flag(a.ceilMode), includePad: flag(a.countIncludePad), divisor: a.divisor };
      return opBound(engine, AVG_POOL2D, attrs, where, IO);
    }
    case 'adaptiveAvgPool2d':
    case 'globalAvgPool2d': {
      const a = node.attrs as AdaptivePoolAttrs;
      return opBound(engine, ADAPTIVE_POOL2D, { c: a.c, h: a.h, w: a.w, oh: a.oh, ow: a.ow, max: 0 }, where, IO);
    }
    case 'batchNorm2d':
    case 'batchNorm1d':
      return batchNorm(engine, node.attrs as BatchNormAttrs, where, relu);
    case 'layerNorm': {
      const a = node.attrs as NormAttrs;
      return opBound(engine, LAYER_NORM, { rows: a.groups, d: a.size, affine: flag(a.affine) }, where, NORM_SLOTS, { perSample: a.groups, fixed: 0, parts: 2 }, [a.eps]);
    }
    case 'groupNorm': {
      const a = node.attrs as NormAttrs;
      const attrs = { c: a.channels, inner: a.plane, groups: a.groups, affine: flag(a.affine) };
      return opBound(engine, GROUP_NORM, attrs, where, NORM_SLOTS, { perSample: a.groups, fixed: 0, parts: 2 }, [a.eps]);
    }
    case 'dropout':
    case 'dropout2d': {
      const a = node.attrs as DropoutAttrs;
      const n = per(node.output);
      // One seed per layer: the model's seed and the node's index; the counter gives each step its mask.
      const attrs = { n, inner: a.group, seedLo: model.seed, seedHi: index };
      return opBound(engine, DROPOUT, attrs, where, { ...IO, mask: { k: 'saved' }, counter: { k: 'counter' } }, { perSample: Math.ceil(n / a.group / 32), fixed: 0, u32: true }, [a.p]);
    }
    case 'relu':
      return opBound(engine, RELU, { n: per(node.output) }, where, IO);
    case 'add': {
      if (node.inputs.length !== 2) break;
      const roles = { a: { k: 'in', i: 0 }, b: { k: 'in', i: 1 }, y: { k: 'out' }, dy: { k: 'dout' }, da: { k: 'din', i: 0 }, db: { k: 'din', i: 1 } } as const;
      return opBound(engine, ADD, { n: per(node.output), activation: relu }, where, roles);
    }
    case 'concat': {
      const a = node.attrs as ConcatAttrs;
      if (a.channels.length > CONCAT_MAX_INPUTS) {
        throw new RangeError(`${where}: concatenates ${a.channels.length} branches, this build's concat takes at most ${CONCAT_MAX_INPUTS} (nest concats for more)`);
      }
      const def = concatDef(a.channels.length);
      const attrs: Record<string, number> = { inner: a.plane, k: a.channels.length };
      const roles: Record<string, Role> = { y: { k: 'out' }, dy: { k: 'dout' } };
      a.channels.forEach((c, i) => {
        attrs[`c${i}`] = c;
        roles[`x${i}`] = { k: 'in', i };
        roles[`dx${i}`] = { k: 'din', i };
      });
      return opBound(engine, def, attrs, where, roles);
    }
    case 'mul': {
      const a = node.attrs as MulAttrs;
      const roles = { x: { k: 'in', i: 0 }, s: { k: 'in', i: 1 }, y: { k: 'out' }, dy: { k: 'dout' }, dx: { k: 'din', i: 0 }, ds: { k: 'din', i: 1 } } as const;
      return opBound(engine, GATE, { c: a.channels, inner: a.plane }, where, roles);
    }
    default: {
      const fn = (ACTIVATION_KINDS as readonly string[]).indexOf(activationKind(node));
      if (fn < 0) break;
      const a = node.attrs as ActivationAttrs;
      return opBound(engine, ACTIVATION, { n: per(node.output), fn }, where, IO, undefined, [a.alpha]);
    }
  }
  throw new RangeError(`${where}: this build has no kernel for it${mode === 'infer' ? ' in inference' : ''} yet`);
}

/** ACTIVATION's name for an activation node ('' for other nodes). */
function activationKind(node: GraphNode): string {
  const a = node.attrs as ActivationAttrs | null;
  if (a === null || typeof a !== 'object' || a.type !== node.type) return '';
  return a.type === 'gelu' && a.approximate === 'tanh' ? 'geluTanh' : a.type;
}

function batchNorm(engine: Engine, a: BatchNormAttrs, where: string, relu: number): Bound {
  const attrs = { c: a.channels, inner: a.plane, affine: flag(a.affine), track: flag(a.trackRunningStats), relu, cumulative: flag(a.momentum === null) };
  const roles = {
    ...NORM_SLOTS,
    runningMean: { k: 'state', name: 'running_mean' }, runningVar: { k: 'state', name: 'running_var' }, batchesTracked: { k: 'state', name: 'num_batches_tracked' },
  } as const;
  const b = opBound(engine, BATCH_NORM, attrs, where, roles, { perSample: 0, fixed: a.channels, parts: 2 }, [a.eps, a.momentum ?? 0]);
  const statsFromBatch = (train: boolean) => train || !a.trackRunningStats;
  return {
    ...b,
    forward(batch, train) {
      if (statsFromBatch(train) && batch * a.plane === 1) {
        throw new RangeError(`${where}: batch statistics need more than one value per channel, got a batch of 1 × ${a.plane} (train with batches of 2 or more, or call model.eval())`);
      }
      b.forward(batch, train);
    },
  };
}

/**
 * An 'infer' conv with the BatchNorm after it folded in: W' = W·γ/√(var + ε), b' = (b − μ)·γ/√(var + ε) + β
 * per output channel (any groups: each filter is one output channel), computed in f64 into buffers this
 * step owns, again whenever the model's weights or buffers changed since the last fold.
 */
function foldedConv(model: Model, conv: number, bn: number, a: Conv2dAttrs, b: Bound & { op: WasmOp }): Bound {
  const engine = model.engine;
  const o = a.filters;
  const wlen = o * (a.window.c / a.groups) * a.window.kh * a.window.kw;
  const owned: F32Buffer[] = [];
  try {
    owned.push(engine.alloc(wlen, `${model.graph.nodes[conv].path} folded weight`), engine.alloc(o, `${model.graph.nodes[conv].path} folded bias`));
  } catch (e) {
    for (const x of owned) x.dispose();
    b.dispose();
    throw e;
  }
  const [fw, fb] = owned;
  const bnAttrs = model.graph.nodes[bn].attrs as BatchNormAttrs;
  let folded = -1;
  const fold = () => {
    const { params, state } = model._buffers;
    const [p, s] = [params.view(), state.view()];
    const find = (node: number, name: string) => {
      const t = model._slotsOf(node).find((x) => x.name === name);
      return t ? (t.kind === 'param' ? p : s).subarray(t.offset, t.offset + t.length) : null;
    };
    const [w, bias, gamma, beta, mean, variance] = [find(conv, 'weight')!, find(conv, 'bias'), find(bn, 'weight'), find(bn, 'bias'), find(bn, 'running_mean')!, find(bn, 'running_var')!];
    const [W, B] = [fw.view(), fb.view()];
    const k = wlen / o;
    for (let c = 0; c < o; c++) {
      const scale = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + bnAttrs.eps);
      for (let i = c * k; i < (c + 1) * k; i++) W[i] = w[i] * scale;
      B[c] = ((bias ? bias[c] : 0) - mean[c]) * scale + (beta ? beta[c] : 0);
    }
    folded = model._version;
  };
  return {
    bind: (addr) => b.op.bind({ x: addr({ k: 'in', i: 0 }), weight: fw.ptr, bias: fb.ptr, y: addr({ k: 'out' }) }),
    forward(batch) {
      if (folded !== model._version) fold();
      b.op.forward(batch, undefined, 0);
    },
    backward() {
      throw new Error('wasmcnn: backward through a folded conv (an inference plan)');
    },
    dispose() {
      b.dispose();
      for (const x of owned) x.dispose();
    },
  };
}
