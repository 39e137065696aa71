// Dense layer (PyTorch's nn.Linear: weight out × in, y = x·Wᵀ + b) on a flat input.
import { checkBool, checkInt } from '../../errors.js';
import type { WasmExports } from '../../runtime/exports.js';
import type { Layer, LayerIO, ParamInfo } from '../layer.js';

export interface DenseSpec {
  type: 'dense';
  name?: string;
  units: number;
  useBias?: boolean;
}

export const DENSE_KEYS = ['type', 'name', 'units', 'useBias'] as const;

export class Dense implements Layer {
  readonly type = 'dense';
  readonly aliasesInput = false;
  readonly scratchPerSample = 0;
  readonly outShape: number[];
  readonly params: ParamInfo[];
  readonly #in: number;
  readonly #out: number;
  readonly #spec: DenseSpec;
  #relu = false;

  constructor(readonly name: string, spec: DenseSpec, readonly inShape: readonly number[]) {
    const where = `dense '${name}'`;
    if (inShape.length !== 1) {
      throw new RangeError(`${where}: expects a flat input, got [${inShape.join(', ')}]; add { type: 'flatten' } before it`);
    }
    this.#in = inShape[0];
    this.#out = checkInt(where, 'units', spec.units, 1);
    const useBias = checkBool(where, 'useBias', spec.useBias ?? true);
    this.#spec = { ...spec, name, useBias };
    this.outShape = [this.#out];
    this.params = [{ name: `${name}.weight`, kind: 'weight', shape: [this.#out, this.#in], fanIn: this.#in, fanOut: this.#out }];
    if (useBias) this.params.push({ name: `${name}.bias`, kind: 'bias', shape: [this.#out], fanIn: this.#in, fanOut: this.#out });
  }

  toSpec(): Record<string, unknown> {
    return { ...this.#spec };
  }

  fuseRelu(): void {
    this.#relu = true;
  }

  forward(ex: WasmExports, io: LayerIO): void {
    ex.wcnn_dense_forward(io.batch, this.#in, this.#out, io.x, io.params[0], io.params[1] ?? 0, this.#relu ? 1 : 0, io.y);
  }

  backward(ex: WasmExports, io: LayerIO, _s: number, dy: number, dx: number, accumulate: boolean): void {
    const reluY = this.#relu ? io.y : 0;
    ex.wcnn_dense_backward(io.batch, this.#in, this.#out, io.x, io.params[0], reluY, dy, dx, io.grads[0], io.grads[1] ?? 0, accumulate ? 1 : 0);
  }
}
