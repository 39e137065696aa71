// What every layer provides to the Sequential model. Layers compute nothing themselves: they hold
// validated geometry and an operator (crates/core/src/operator) they run on buffers the model owns.
import type { WasmExports } from '../runtime/exports.js';
import { exportsHost, WasmOp, type OpDef, type OpHost } from '../runtime/op.js';

/** A layer's parameter: where it sits in the model's flat parameter buffer, and how to initialise it. */
export interface ParamInfo {
  name: string;
  kind: 'weight' | 'bias';
  shape: number[];
  fanIn: number;
  fanOut: number;
}

/** Pointers for one layer call; sizes are per the current batch. */
export interface LayerIO {
  batch: number;
  x: number;
  y: number;
  /** Byte offsets of this layer's parameters and gradients, in `params` order. */
  params: number[];
  grads: number[];
}

export interface Layer {
  readonly type: string;
  readonly name: string;
  readonly inShape: readonly number[];
  /** Per sample; the model checks its size, and `batch ×` it (and `scratchPerSample`), before allocating. */
  readonly outShape: readonly number[];
  readonly params: readonly ParamInfo[];
  /** True when the output is the input, reinterpreted (flatten, a fused ReLU): no buffer, no work. */
  readonly aliasesInput: boolean;
  /**
   * Present on layers that can apply a following ReLU in their own kernels (conv2d, dense): the model calls
   * it once at build time, and the ReLU layer then aliases this layer's output. Same bits, one pass fewer
   * each way (the ReLU runs on output still in cache; its backward masks the gradient inside the kernel).
   */
  fuseRelu?(): void;
  /** u32 scratch per sample kept from forward to backward (max-pool argmax). */
  readonly scratchPerSample: number;
  /** The spec that rebuilds this layer (with its resolved name). */
  toSpec(): Record<string, unknown>;
  forward(ex: WasmExports, io: LayerIO, scratch: number): void;
  /** `dx` is 0 when no input gradient is needed (first layer). `accumulate` adds into the grads. */
  backward(ex: WasmExports, io: LayerIO, scratch: number, dy: number, dx: number, accumulate: boolean): void;
  /** Frees the layer's operator (the model calls it when disposed); a FinalizationRegistry is the net. */
  dispose?(): void;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The LayerOp of an operator definition (its attribute and slot names typed). */
export type LayerOpOf<D extends OpDef> = LayerOp<keyof D['ints'] & string, D['slots'][number]>;

/**
 * A layer's operator. With its engine known at build time it is created (and validated) at once;
 * otherwise at the first call, from the exports it is given. A descriptor change (a fused ReLU)
 * re-creates it.
 */
export class LayerOp<F extends string, S extends string> {
  #op: WasmOp<F, S> | null = null;
  #host: OpHost | null;

  constructor(
    readonly def: OpDef<F, S>,
    readonly where: string,
    readonly attrs: () => Readonly<Record<NoInfer<F>, number>>,
    host?: OpHost,
  ) {
    this.#host = host ?? null;
    if (host) this.#op = new WasmOp(host, def, where, attrs());
  }

  /** The attributes changed: the operator is made again (now, if the engine is known). */
  reset(): void {
    this.dispose();
    if (this.#host) this.#op = new WasmOp(this.#host, this.def, this.where, this.attrs());
  }

  /** The operator, created from `ex` if the layer was built without its engine. */
  get(ex: WasmExports): WasmOp<F, S> {
    if (this.#op === null) {
      this.#host ??= exportsHost(ex);
      this.#op = new WasmOp(this.#host, this.def, this.where, this.attrs());
    }
    return this.#op;
  }

  dispose(): void {
    this.#op?.dispose();
    this.#op = null;
  }
}
