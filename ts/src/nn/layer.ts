// What every layer provides to the Sequential model. Layers compute nothing themselves: they hold
// validated geometry and call the wasm kernels on buffers the model owns.
import type { WasmExports } from '../runtime/exports.js';

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
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
