// maxPool2d on caller-owned Float32Arrays (PyTorch's max_pool2d: padding is -∞, floor output size).
import { checkInt } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { MAXPOOL2D } from '../runtime/op-defs.js';
import { WasmOp } from '../runtime/op.js';
import { pair, resolveWindow, type Pair, type Window } from './geometry.js';
import { checkArgs, checkData, checkShape, size, type Shape4 } from './shapes.js';

export interface MaxPool2dArgs {
  x: Float32Array;
  xShape: Shape4;
  kernelSize: Pair;
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

export function poolWindow(where: string, n: number, c: number, h: number, w: number, a: Omit<MaxPool2dArgs, 'x' | 'xShape'>): Window {
  const kernel = pair(where, 'kernelSize', a.kernelSize, 1, 1);
  const padding = pair(where, 'padding', a.padding, 0, 0);
  // PyTorch: padding at most half the kernel, so every window holds at least one real element.
  padding.forEach((p, i) => checkInt(where, `padding[${i}]`, p, 0, Math.floor(kernel[i] / 2)));
  return resolveWindow(where, n, c, h, w, {
    kernel,
    stride: pair(where, 'stride', a.stride, kernel[0], 1),
    padding,
    dilation: pair(where, 'dilation', a.dilation, 1, 1),
  });
}

function geometry(engine: Engine, where: string, a: MaxPool2dArgs): Window {
  checkArgs(where, a, 'x, xShape, kernelSize, …');
  const [n, c, h, w] = checkShape<Shape4>(where, 'xShape', a.xShape, 4);
  const g = poolWindow(where, n, c, h, w, a);
  engine.heap.checkElements(where, `x [${a.xShape.join(', ')}]`, size(a.xShape));
  engine.heap.checkElements(where, `the output [${[n, c, g.oh, g.ow].join(', ')}]`, n * c * g.oh * g.ow);
  checkData(where, 'x', a.x, a.xShape);
  return g;
}

function run(engine: Engine, where: string, g: Window, x: Float32Array, dy: Float32Array | null) {
  using op = new WasmOp(engine, MAXPOOL2D, where, g);
  return engine.scoped((s) => {
    const out = g.n * g.c * g.oh * g.ow;
    const xb = s.f32(x.length, 'maxPool2d x', x);
    const y = s.f32(out, 'maxPool2d y');
    const argmax = s.u32(out, 'maxPool2d argmax');
    op.forward(g.n, { x: xb.ptr, y: y.ptr, argmax: argmax.ptr });
    if (dy === null) return { y: y.read(), dx: null };
    const dyb = s.f32(out, 'maxPool2d dy', dy);
    const dx = s.f32(x.length, 'maxPool2d dx');
    op.backward(g.n, { argmax: argmax.ptr, dy: dyb.ptr, dx: dx.ptr });
    return { y: y.read(), dx: dx.read() };
  });
}

export function maxPool2d(engine: Engine, a: MaxPool2dArgs): { y: Float32Array; shape: [number, number, number, number] } {
  const g = geometry(engine, 'maxPool2d', a);
  return { y: run(engine, 'maxPool2d', g, a.x, null).y, shape: [g.n, g.c, g.oh, g.ow] };
}

/** The input gradient: each dy goes to its window's (first) maximum. */
export function maxPool2dBackward(engine: Engine, a: MaxPool2dArgs & { dy: Float32Array }): { dx: Float32Array } {
  const where = 'maxPool2dBackward';
  const g = geometry(engine, where, a);
  checkData(where, 'dy', a.dy, [g.n, g.c, g.oh, g.ow]);
  return { dx: run(engine, where, g, a.x, a.dy).dx as Float32Array };
}
