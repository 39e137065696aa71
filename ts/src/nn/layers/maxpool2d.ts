// MaxPool2d layer (PyTorch's nn.MaxPool2d: stride defaults to the pool size, padding is -∞).
import { poolWindow } from '../../ops/pool.js';
import type { Pair } from '../../ops/geometry.js';
import type { WasmExports } from '../../runtime/exports.js';
import { MAXPOOL2D } from '../../runtime/op-defs.js';
import type { OpHost } from '../../runtime/op.js';
import { LayerOp, type Layer, type LayerOpOf, type LayerIO } from '../layer.js';

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
  readonly #spec: MaxPool2dSpec;
  readonly #op: LayerOpOf<typeof MAXPOOL2D>;

  constructor(readonly name: string, spec: MaxPool2dSpec, readonly inShape: readonly number[], host?: OpHost) {
    const where = `maxPool2d '${name}'`;
    if (inShape.length !== 3) {
      throw new RangeError(`${where}: expects a [channels, height, width] input, got [${inShape.join(', ')}]`);
    }
    const [c, h, w] = inShape;
    const g = poolWindow(where, 1, c, h, w, { kernelSize: spec.poolSize, stride: spec.stride, padding: spec.padding, dilation: spec.dilation });
    this.#spec = { ...spec, name };
    this.outShape = [c, g.oh, g.ow];
    this.scratchPerSample = c * g.oh * g.ow;
    this.#op = new LayerOp(MAXPOOL2D, where, () => g, host);
  }

  toSpec(): Record<string, unknown> {
    return { ...this.#spec };
  }

  forward(ex: WasmExports, io: LayerIO, scratch: number): void {
    this.#op.get(ex).forward(io.batch, { x: io.x, y: io.y, argmax: scratch });
  }

  backward(ex: WasmExports, io: LayerIO, scratch: number, dy: number, dx: number): void {
    if (dx !== 0) this.#op.get(ex).backward(io.batch, { argmax: scratch, dy, dx });
  }

  dispose(): void {
    this.#op.dispose();
  }
}
