// Conv2d layer: OIHW weight, optional bias, stride/padding/dilation as in PyTorch's nn.Conv2d.
import { checkBool, checkInt } from '../../errors.js';
import { pair, resolveWindow, type Padding, type Pair, type Window } from '../../ops/geometry.js';
import type { WasmExports } from '../../runtime/exports.js';
import type { Layer, LayerIO, ParamInfo } from '../layer.js';

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
  readonly #g: Window;
  readonly #o: number;
  readonly #spec: Conv2dSpec;
  #relu = false;

  constructor(readonly name: string, spec: Conv2dSpec, readonly inShape: readonly number[]) {
    const where = `conv2d '${name}'`;
    if (inShape.length !== 3) {
      throw new RangeError(`${where}: expects a [channels, height, width] input, got [${inShape.join(', ')}]`);
    }
    const o = checkInt(where, 'filters', spec.filters, 1);
    const kernel = pair(where, 'kernelSize', spec.kernelSize, 1, 1);
    const [c, h, w] = inShape;
    this.#g = resolveWindow(where, 1, c, h, w, {
      kernel,
      stride: pair(where, 'stride', spec.stride, 1, 1),
      padding: spec.padding ?? 'valid',
      dilation: pair(where, 'dilation', spec.dilation, 1, 1),
    });
    const useBias = checkBool(where, 'useBias', spec.useBias ?? true);
    this.#o = o;
    this.#spec = { ...spec, name, useBias };
    this.outShape = [o, this.#g.oh, this.#g.ow];
    const fanIn = c * kernel[0] * kernel[1];
    const fanOut = o * kernel[0] * kernel[1];
    this.params = [{ name: `${name}.weight`, kind: 'weight', shape: [o, c, kernel[0], kernel[1]], fanIn, fanOut }];
    if (useBias) this.params.push({ name: `${name}.bias`, kind: 'bias', shape: [o], fanIn, fanOut });
  }

  toSpec(): Record<string, unknown> {
    return { ...this.#spec };
  }

  #args(batch: number) {
    const g = this.#g;
    return [batch, g.c, g.h, g.w, this.#o, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.oh, g.ow] as const;
  }

  fuseRelu(): void {
    this.#relu = true;
  }

  forward(ex: WasmExports, io: LayerIO): void {
    ex.wcnn_conv2d_forward(...this.#args(io.batch), io.x, io.params[0], io.params[1] ?? 0, this.#relu ? 1 : 0, io.y);
  }

  backward(ex: WasmExports, io: LayerIO, _s: number, dy: number, dx: number, accumulate: boolean): void {
    const reluY = this.#relu ? io.y : 0;
    ex.wcnn_conv2d_backward(...this.#args(io.batch), io.x, io.params[0], reluY, dy, dx, io.grads[0], io.grads[1] ?? 0, accumulate ? 1 : 0);
  }
}
