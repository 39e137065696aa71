// An execution plan: the graph bound to kernels for one mode ('train': forward keeping what backward needs,
// then backward; 'infer': forward only) at a batch capacity. Built once and reused every step:
//   fusion    conv2d/dense → relu (the ReLU runs in the GEMM's epilogue), batchNorm → relu, add → relu; in
//             'infer' a batchNorm after a conv is folded into the conv's weights
//   aliases   flatten (and a fused ReLU, an inference dropout) reuse their input's buffers
//   memory    one activation arena and one gradient arena with offsets from liveness intervals (XNNPACK's
//             memory planner): 'infer' reuses activations as soon as their last reader ran; 'train' keeps
//             every activation and reuses gradient buffers between the reverse-order steps
//   io blocks every kernel's pointers are written once, when the plan is built
// A value read by several nodes (a residual block's input) gets its gradient from the first reader in
// reverse order, and the others' contributions are added to it.
import type { F32Buffer, Heap, U32Buffer } from '../runtime/memory.js';
import type { GraphNode } from './graph.js';
import { bindStep, type Bound, type Fusion, type Role } from './kernels.js';
import type { Model } from './model.js';
import { numel } from './ops/op.js';

export type Mode = 'train' | 'infer';

/** One kernel call of the plan (a node, with what was fused into it). */
interface Step {
  node: GraphNode;
  index: number;
  bound: Bound;
  inputs: number[];
  output: number;
  /** For each input: whether this step's backward writes that input's gradient first (else it adds). */
  firstGrad: boolean[];
}

/** Buffers a value occupies: offsets in floats into the arenas, and which value it aliases. */
interface Place {
  act: number;
  grad: number;
  /** The value whose buffers these are (itself unless an alias). */
  root: number;
}

/** Greedy first-fit placement of [start, end] lifetimes, largest first: offsets (floats, 4-aligned) and the arena size. */
function place(items: { id: number; size: number; start: number; end: number }[]): { offsets: Map<number, number>; size: number } {
  const sorted = [...items].sort((a, b) => b.size - a.size || a.id - b.id);
  const placed: { off: number; size: number; start: number; end: number }[] = [];
  const offsets = new Map<number, number>();
  let total = 0;
  for (const it of sorted) {
    const size = Math.ceil(it.size / 4) * 4;
    const clash = placed.filter((p) => p.start <= it.end && it.start <= p.end).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const p of clash) {
      if (off + size <= p.off) break;
      off = Math.max(off, p.off + p.size);
    }
    placed.push({ off, size, start: it.start, end: it.end });
    offsets.set(it.id, off);
    total = Math.max(total, off + size);
  }
  return { offsets, size: total };
}

export class Plan {
  readonly mode: Mode;
  readonly capacity: number;
  readonly #model: Model;
  readonly #steps: Step[] = [];
  readonly #places: Place[];
  readonly #act: F32Buffer;
  readonly #grad: F32Buffer | null;
  /** Scratch for a gradient that adds to another reader's (sized for the largest such value). */
  readonly #temp: F32Buffer | null;
  readonly #saved: (F32Buffer | U32Buffer)[] = [];
  readonly #per: number[];

  constructor(model: Model, mode: Mode, capacity: number) {
    this.#model = model;
    this.mode = mode;
    this.capacity = capacity;
    const g = model.graph;
    const engine = model.engine;
    const heap = engine.heap;
    this.#per = g.values.map((s) => numel(s));
    const consumers = g.values.map(() => [] as number[]);
    g.nodes.forEach((n, i) => n.inputs.forEach((v) => consumers[v].push(i)));

    // 1. Fusion and aliases.
    const fusion = new Map<number, Fusion>();
    const alias = g.values.map((_, v) => v);
    const skip = new Set<number>();
    const only = (v: number) => consumers[v].length === 1 && v !== g.output;
    g.nodes.forEach((n, i) => {
      if (n.type === 'flatten' || (mode === 'infer' && (n.type === 'dropout' || n.type === 'dropout2d'))) {
        alias[n.output] = alias[n.inputs[0]];
        skip.add(i);
        return;
      }
      if (n.type !== 'relu') return;
      const src = n.inputs[0];
      const producer = g.nodes.findIndex((p) => p.output === src);
      if (producer < 0 || !only(src) || skip.has(producer)) return;
      const pt = g.nodes[producer].type;
      const f = fusion.get(producer) ?? {};
      if (pt === 'conv2d' || pt === 'dense' || pt === 'add' || pt === 'batchNorm2d' || (pt === 'batchNorm1d' && f.foldInto === undefined)) {
        fusion.set(producer, { ...f, relu: true });
        alias[n.output] = alias[src];
        skip.add(i);
      }
    });
    if (mode === 'infer') {
      // BatchNorm right after a conv (its only reader) folds into the conv; a ReLU after the BN then fuses too.
      g.nodes.forEach((n, i) => {
        if (n.type !== 'batchNorm2d' || skip.has(i)) return;
        const producer = g.nodes.findIndex((p) => p.output === n.inputs[0]);
        if (producer < 0 || g.nodes[producer].type !== 'conv2d' || !only(n.inputs[0])) return;
        const bnFusion = fusion.get(i) ?? {};
        fusion.set(producer, { ...(fusion.get(producer) ?? {}), foldBn: i, relu: bnFusion.relu ?? false });
        alias[n.output] = alias[n.inputs[0]];
        skip.add(i);
      });
    }
    const root = (v: number): number => (alias[v] === v ? v : root(alias[v]));

    // 2. Steps, each bound to its kernel (operator objects are created and validated here).
    try {
      g.nodes.forEach((n, i) => {
        if (skip.has(i)) return;
        const bound = bindStep(model, n, i, fusion.get(i) ?? {}, mode);
        this.#steps.push({ node: n, index: i, bound, inputs: n.inputs.map(root), output: root(n.output), firstGrad: [] });
      });

      // 3. Memory: lifetimes in step order (backward steps counted after the forward ones, in reverse).
      const S = this.#steps.length;
      const live = new Map<number, { start: number; end: number }>();
      const touch = (v: number, t: number) => {
        const l = live.get(v);
        if (!l) live.set(v, { start: t, end: t });
        else l.end = Math.max(l.end, t);
      };
      touch(0, -1); // the input batch, written before the first step
      this.#steps.forEach((s, t) => {
        touch(s.output, t);
        for (const v of s.inputs) touch(v, t);
      });
      touch(root(g.output), S); // read by the loss / the caller
      const acts = [...live].map(([id, l]) => ({ id, size: capacity * this.#per[id], ...(mode === 'train' ? { start: -1, end: Infinity } : l) }));
      for (const a of acts) heap.checkElements(`plan (${mode}, batch ${capacity})`, 'an activation', a.size);
      const actPlace = place(acts);
      heap.checkElements(`plan (${mode}, batch ${capacity})`, 'the activation arena', actPlace.size);

      let gradPlace: { offsets: Map<number, number>; size: number } = { offsets: new Map(), size: 0 };
      let tempSize = 0;
      if (mode === 'train') {
        // Backward step b runs forward step S-1-b. A value's gradient lives from its first writer (the
        // reader that runs first in reverse) to its producer's backward.
        const glive = new Map<number, { start: number; end: number }>();
        const gtouch = (v: number, b: number) => {
          const l = glive.get(v);
          if (!l) glive.set(v, { start: b, end: b });
          else l.end = Math.max(l.end, b);
        };
        gtouch(root(g.output), -1); // the loss writes it first
        const written = new Set<number>([root(g.output)]);
        for (let b = 0; b < S; b++) {
          const s = this.#steps[S - 1 - b];
          gtouch(s.output, b);
          s.firstGrad = s.inputs.map((v) => {
            if (v === 0) return true; // the input batch needs no gradient
            gtouch(v, b);
            const first = !written.has(v);
            written.add(v);
            if (!first) tempSize = Math.max(tempSize, capacity * this.#per[v]);
            return first;
          });
        }
        gradPlace = place([...glive].map(([id, l]) => ({ id, size: capacity * this.#per[id], ...l })));
        heap.checkElements(`plan (${mode}, batch ${capacity})`, 'the gradient arena', gradPlace.size);
      }
      this.#places = g.values.map((_, v) => ({ act: actPlace.offsets.get(root(v)) ?? -1, grad: gradPlace.offsets.get(root(v)) ?? -1, root: root(v) }));

      // 4. Allocation, then every io block written once.
      for (const s of this.#steps) {
        const sv = s.bound.saved;
        if (sv) heap.checkElements(`'${s.node.path}' (${s.node.type})`, 'its saved values', sv.perSample * capacity + sv.fixed);
      }
      this.#act = engine.alloc(actPlace.size, `plan activations (${mode})`);
      this.#grad = mode === 'train' ? engine.alloc(gradPlace.size, 'plan gradients') : null;
      this.#temp = tempSize > 0 ? engine.alloc(tempSize, 'plan gradient scratch') : null;
      for (const s of this.#steps) {
        const sv = s.bound.saved;
        const len = sv ? sv.perSample * capacity + sv.fixed : 0;
        const buf = sv?.u32 ? engine.allocU32(len, `${s.node.path} saved`) : engine.alloc(len, `${s.node.path} saved`);
        this.#saved.push(buf);
      }
      this.#steps.forEach((s, k) => s.bound.bind((r) => this.#address(s, k, r)));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** The wasm address a slot role of step `k` refers to (0 for an absent optional buffer). */
  #address(s: Step, k: number, r: Role): number {
    const { params, grads, state } = this.#model._buffers;
    const slots = this.#model._slotsOf(r.k === 'param' || r.k === 'grad' || r.k === 'state' ? (r.node ?? s.index) : s.index);
    const act = (v: number) => this.#act.ptr + 4 * this.#places[v].act;
    const grad = (v: number) => (this.#grad ? this.#grad.ptr + 4 * this.#places[v].grad : 0);
    switch (r.k) {
      case 'in':
        return act(s.inputs[r.i]);
      case 'out':
        return act(s.output);
      case 'dout':
        return grad(s.output);
      case 'din': {
        const v = s.inputs[r.i];
        if (v === 0 || !this.#grad) return 0;
        return s.firstGrad[r.i] ? grad(v) : this.#temp!.ptr;
      }
      case 'param':
      case 'grad':
      case 'state': {
        const t = slots.find((x) => x.name === r.name);
        if (!t) return 0;
        const base = r.k === 'param' ? params : r.k === 'grad' ? grads : state;
        return base.ptr + 4 * t.offset;
      }
      case 'saved':
        return this.#saved[k].ptr;
      case 'null':
        return 0;
    }
  }

  get heap(): Heap {
    return this.#model.engine.heap;
  }

  /** Where the input batch goes (capacity × sample floats). */
  get inputPtr(): number {
    return this.#act.ptr + 4 * this.#places[0].act;
  }
  /** The output of the last forward (batch × output floats). */
  get outputPtr(): number {
    return this.#act.ptr + 4 * this.#places[this.#model.graph.output].act;
  }
  /** Where the loss writes the output's gradient before `backward`. */
  get outputGradPtr(): number {
    return this.#grad ? this.#grad.ptr + 4 * this.#places[this.#model.graph.output].grad : 0;
  }

  /**
   * Runs every step forward on the first `batch` samples of the input; `train` selects training semantics
   * (batch statistics, dropout) — a 'train' plan may also run with eval semantics (fine-tuning with frozen
   * BatchNorm, lossAndGradients in eval mode).
   */
  forward(batch: number, train: boolean): void {
    if (train && this.mode === 'infer') throw new Error('wasmcnn: training semantics on an inference plan');
    for (const s of this.#steps) s.bound.forward(batch, train);
  }

  /** Runs every step backward (the output's gradient written by the loss); `accumulate` adds into the parameter gradients. */
  backward(batch: number, accumulate: boolean, train: boolean): void {
    if (!this.#grad) throw new Error('wasmcnn: backward on an inference plan');
    const ex = this.#model.engine.exports;
    for (let k = this.#steps.length - 1; k >= 0; k--) {
      const s = this.#steps[k];
      s.bound.backward(batch, accumulate, train);
      s.inputs.forEach((v, i) => {
        if (v !== 0 && !s.firstGrad[i]) ex.wcnn_add_into(this.#grad!.ptr + 4 * this.#places[v].grad, this.#temp!.ptr, batch * this.#per[v]);
      });
    }
  }

  /** Per ReLU node: the fraction of its outputs for the current batch that are exactly zero (dead units). */
  deadFractions(batch: number): { layer: string; deadFraction: number }[] {
    const f32 = this.#model.engine.heap.f32;
    return this.#model.graph.nodes
      .filter((n) => n.type === 'relu')
      .map((n) => {
        const at = (this.#act.ptr >>> 2) + this.#places[n.output].act;
        const v = f32.subarray(at, at + batch * this.#per[n.output]);
        let zeros = 0;
        for (let i = 0; i < v.length; i++) if (v[i] === 0) zeros++;
        return { layer: n.path, deadFraction: zeros / v.length };
      });
  }

  /** The first node (in forward order) whose output holds a non-finite value for the current batch. */
  firstNonFinite(batch: number): string | null {
    const ex = this.#model.engine.exports;
    for (const s of this.#steps) {
      if (ex.wcnn_first_non_finite(this.#act.ptr + 4 * this.#places[s.output].act, batch * this.#per[s.output]) >= 0) return s.node.path;
    }
    return null;
  }

  dispose(): void {
    for (const s of this.#steps) s.bound.dispose();
    this.#steps.length = 0;
    for (const b of this.#saved) b.dispose();
    this.#saved.length = 0;
    this.#act?.dispose();
    this.#grad?.dispose();
    this.#temp?.dispose();
  }
}
