// MaxPool2d layer (PyTorch's nn.MaxPool2d: stride defaults to the pool size, padding is -∞).
import { poolWindow } from '../../ops/pool.js';
import type { Pair, Window } from '../../ops/geometry.js';
import type { WasmExports } from '../../runtime/exports.js';
import type { Layer, LayerIO } from '../layer.js';

export interface MaxPool2dSpec {
  type: 'maxPool2d';
  name?: string;
  poolSize: Pair;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

export const MAXPOOL2D_KEYS = ['type', 'name', 'poolSize', 'stride', 'padding', 'dilation'] as const;

export class MaxPool2d implements Layer {
  readonly type = 'maxPool2d';
  readonly aliasesInput = false;
  readonly params = [];
  readonly outShape: number[];
  readonly scratchPerSample: number;
  readonly #g: Window;
  readonly #spec: MaxPool2dSpec;

  constructor(readonly name: string, spec: MaxPool2dSpec, readonly inShape: readonly number[]) {
    const where = `maxPool2d '${name}'`;
    if (inShape.length !== 3) {
      throw new RangeError(`${where}: expects a [channels, height, width] input, got [${inShape.join(', ')}]`);
    }
    const [c, h, w] = inShape;
    this.#g = poolWindow(where, 1, c, h, w, { kernelSize: spec.poolSize, stride: spec.stride, padding: spec.padding, dilation: spec.dilation });
    this.#spec = { ...spec, name };
    this.outShape = [c, this.#g.oh, this.#g.ow];
    this.scratchPerSample = c * this.#g.oh * this.#g.ow;
  }

  toSpec(): Record<string, unknown> {
    return { ...this.#spec };
  }

  #args(batch: number) {
    const g = this.#g;
    return [batch, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.oh, g.ow] as const;
  }

  forward(ex: WasmExports, io: LayerIO, scratch: number): void {
    ex.wcnn_maxpool2d_forward(...this.#args(io.batch), io.x, io.y, scratch);
  }

  backward(ex: WasmExports, io: LayerIO, scratch: number, dy: number, dx: number): void {
    if (dx !== 0) ex.wcnn_maxpool2d_backward(...this.#args(io.batch), dy, scratch, dx);
  }
}
