// Conv2d layer: OIHW weight, optional bias, stride/padding/dilation as in PyTorch's nn.Conv2d.
import { checkBool, checkInt } from '../../errors.js';
import { pair, resolveWindow, type Padding, type Pair } from '../../ops/geometry.js';
import type { WasmExports } from '../../runtime/exports.js';
import { CONV2D } from '../../runtime/op-defs.js';
import { Activation, OpFlags, type OpHost } from '../../runtime/op.js';
import { LayerOp, type Layer, type LayerOpOf, type LayerIO, type ParamInfo } from '../layer.js';

export interface Conv2dSpec {
  type: 'conv2d';
  name?: string;
  /** Output channels. */
  filters: number;
  kernelSize: Pair;
  stride?: Pair;
  /** 'valid' (default), 'same' (stride 1), an integer or [h, w] zero padding. */
  padding?: Padding;
  dilation?: Pair;
  useBias?: boolean;
}

export const CONV2D_KEYS = ['type', 'name', 'filters', 'kernelSize', 'stride', 'padding', 'dilation', 'useBias'] as const;

export class Conv2d implements Layer {
  readonly type = 'conv2d';
  readonly aliasesInput = false;
  readonly scratchPerSample = 0;
  readonly outShape: number[];
  readonly params: ParamInfo[];
  readonly #spec: Conv2dSpec;
  readonly #op: LayerOpOf<typeof CONV2D>;
  #relu = false;

  constructor(readonly name: string, spec: Conv2dSpec, readonly inShape: readonly number[], host?: OpHost) {
    const where = `conv2d '${name}'`;
    if (inShape.length !== 3) {
      throw new RangeError(`${where}: expects a [channels, height, width] input, got [${inShape.join(', ')}]`);
    }
    const o = checkInt(where, 'filters', spec.filters, 1);
    const kernel = pair(where, 'kernelSize', spec.kernelSize, 1, 1);
    const [c, h, w] = inShape;
    const g = resolveWindow(where, 1, c, h, w, {
      kernel,
      stride: pair(where, 'stride', spec.stride, 1, 1),
      padding: spec.padding ?? 'valid',
      dilation: pair(where, 'dilation', spec.dilation, 1, 1),
    });
    const useBias = checkBool(where, 'useBias', spec.useBias ?? true);
    this.#spec = { ...spec, name, useBias };
    this.outShape = [o, g.oh, g.ow];
    const wShape = [o, c, kernel[0], kernel[1]];
    const fanIn = c * kernel[0] * kernel[1];
    const fanOut = o * kernel[0] * kernel[1];
    this.params = [{ name: `${name}.weight`, kind: 'weight', shape: wShape, fanIn, fanOut }];
    if (useBias) this.params.push({ name: `${name}.bias`, kind: 'bias', shape: [o], fanIn, fanOut });
    this.#op = new LayerOp(CONV2D, where, () => ({ ...g, o, activation: this.#relu ? Activation.relu : Activation.none }), host);
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
    // y is read only with a fused ReLU (its mask).
    this.#op.get(ex).backward(io.batch, { x: io.x, weight, y: io.y, dy, dx, dweight, dbias }, accumulate ? OpFlags.ACCUMULATE : 0);
  }

  dispose(): void {
    this.#op.dispose();
  }
}
