// Dense layer (PyTorch's nn.Linear: weight out × in, y = x·Wᵀ + b) on a flat input.
import { checkBool, checkInt } from '../../errors.js';
import type { WasmExports } from '../../runtime/exports.js';
import { DENSE } from '../../runtime/op-defs.js';
import { Activation, OpFlags, type OpHost } from '../../runtime/op.js';
import { LayerOp, type Layer, type LayerOpOf, type LayerIO, type ParamInfo } from '../layer.js';

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
  readonly #spec: DenseSpec;
  readonly #op: LayerOpOf<typeof DENSE>;
  #relu = false;

  constructor(readonly name: string, spec: DenseSpec, readonly inShape: readonly number[], host?: OpHost) {
    const where = `dense '${name}'`;
    if (inShape.length !== 1) {
      throw new RangeError(`${where}: expects a flat input, got [${inShape.join(', ')}]; add { type: 'flatten' } before it`);
    }
    const inp = inShape[0];
    const out = checkInt(where, 'units', spec.units, 1);
    const useBias = checkBool(where, 'useBias', spec.useBias ?? true);
    this.#spec = { ...spec, name, useBias };
    this.outShape = [out];
    this.params = [{ name: `${name}.weight`, kind: 'weight', shape: [out, inp], fanIn: inp, fanOut: out }];
    if (useBias) this.params.push({ name: `${name}.bias`, kind: 'bias', shape: [out], fanIn: inp, fanOut: out });
    this.#op = new LayerOp(DENSE, where, () => ({ in: inp, out, activation: this.#relu ? Activation.relu : Activation.none }), host);
  }

  toSpec(): Record<string, unknown> {
    return { ...this.#spec };
  }

  fuseRelu(): void {
    this.#relu = true;
    this.#op.reset();
  }

  forward(ex: WasmExports, io: LayerIO): void {
    this.#op.get(ex).forward(io.batch, { x: io.x, weight: io.params[0], bias: io.params[1], y: io.y });
  }

  backward(ex: WasmExports, io: LayerIO, _s: number, dy: number, dx: number, accumulate: boolean): void {
    const [weight, dweight, dbias] = [io.params[0], io.grads[0], io.grads[1]];
    this.#op.get(ex).backward(io.batch, { x: io.x, weight, y: io.y, dy, dx, dweight, dbias }, accumulate ? OpFlags.ACCUMULATE : 0);
  }

  dispose(): void {
    this.#op.dispose();
  }
}
