// maxPool2d on caller-owned Float32Arrays (PyTorch's max_pool2d: padding is -∞, floor output size).
import { checkInt } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { pair, resolveWindow, type Pair, type Window } from './geometry.js';
import { checkData, checkShape, type Shape4 } from './shapes.js';

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

function geometry(where: string, a: MaxPool2dArgs): Window {
  const [n, c, h, w] = checkShape<Shape4>(where, 'xShape', a.xShape, 4);
  checkData(where, 'x', a.x, a.xShape);
  return poolWindow(where, n, c, h, w, a);
}

function run(engine: Engine, g: Window, x: Float32Array, dy: Float32Array | null) {
  return engine.scoped((s) => {
    const out = g.n * g.c * g.oh * g.ow;
    const xb = s.f32(x.length, 'maxPool2d x', x);
    const y = s.f32(out, 'maxPool2d y');
    const am = s.u32(out, 'maxPool2d argmax');
    const args = [g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.oh, g.ow] as const;
    engine.exports.wcnn_maxpool2d_forward(...args, xb.ptr, y.ptr, am.ptr);
    if (dy === null) return { y: y.read(), dx: null };
    const dyb = s.f32(out, 'maxPool2d dy', dy);
    const dx = s.f32(x.length, 'maxPool2d dx');
    engine.exports.wcnn_maxpool2d_backward(...args, dyb.ptr, am.ptr, dx.ptr);
    return { y: y.read(), dx: dx.read() };
  });
}

export function maxPool2d(engine: Engine, a: MaxPool2dArgs): { y: Float32Array; shape: [number, number, number, number] } {
  const g = geometry('maxPool2d', a);
  return { y: run(engine, g, a.x, null).y, shape: [g.n, g.c, g.oh, g.ow] };
}

/** The input gradient: each dy goes to its window's (first) maximum. */
export function maxPool2dBackward(engine: Engine, a: MaxPool2dArgs & { dy: Float32Array }): { dx: Float32Array } {
  const g = geometry('maxPool2dBackward', a);
  checkData('maxPool2dBackward', 'dy', a.dy, [g.n, g.c, g.oh, g.ow]);
  return { dx: run(engine, g, a.x, a.dy).dx as Float32Array };
}
