// Parameter-free layers: ReLU and Flatten.
import type { WasmExports } from '../../runtime/exports.js';
import { RELU } from '../../runtime/op-defs.js';
import type { OpHost } from '../../runtime/op.js';
import { LayerOp, numel, type Layer, type LayerOpOf, type LayerIO } from '../layer.js';

export interface ReluSpec {
  type: 'relu';
  name?: string;
}
export interface FlattenSpec {
  type: 'flatten';
  name?: string;
}
export const SIMPLE_KEYS = ['type', 'name'] as const;

export class Relu implements Layer {
  readonly type = 'relu';
  /** Fused into the layer before it (see Layer.fuseRelu): then this layer is a pass-through. */
  #fused = false;
  readonly scratchPerSample = 0;
  readonly params = [];
  readonly outShape: readonly number[];
  readonly #op: LayerOpOf<typeof RELU>;
  constructor(readonly name: string, readonly inShape: readonly number[], host?: OpHost) {
    this.outShape = inShape;
    this.#op = new LayerOp(RELU, `relu '${name}'`, () => ({ n: numel(inShape) }), host);
  }
  get aliasesInput(): boolean {
    return this.#fused;
  }
  fuse(): void {
    this.#fused = true;
    this.#op.dispose();
  }
  toSpec(): Record<string, unknown> {
    return { type: 'relu', name: this.name };
  }
  forward(ex: WasmExports, io: LayerIO): void {
    if (!this.#fused) this.#op.get(ex).forward(io.batch, { x: io.x, y: io.y });
  }
  backward(ex: WasmExports, io: LayerIO, _s: number, dy: number, dx: number): void {
    if (!this.#fused && dx !== 0) this.#op.get(ex).backward(io.batch, { y: io.y, dy, dx });
  }
  dispose(): void {
    this.#op.dispose();
  }
}

/** NCHW is already C·H·W-major per sample, so flattening is a reinterpretation, not a copy. */
export class Flatten implements Layer {
  readonly type = 'flatten';
  readonly aliasesInput = true;
  readonly scratchPerSample = 0;
  readonly params = [];
  readonly outShape: readonly number[];
  constructor(readonly name: string, readonly inShape: readonly number[]) {
    this.outShape = [numel(inShape)];
  }
  toSpec(): Record<string, unknown> {
    return { type: 'flatten', name: this.name };
  }
  forward(): void {}
  backward(): void {}
}
