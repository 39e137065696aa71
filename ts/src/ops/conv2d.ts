// conv2d on caller-owned Float32Arrays: the documented low-level API (copies in, runs the kernel, copies out).
import type { Engine } from '../runtime/engine.js';
import { pair, resolveWindow, type Padding, type Pair, type Window } from './geometry.js';
import { checkData, checkShape, type Shape4 } from './shapes.js';

export interface Conv2dArgs {
  /** Input, NCHW. */
  x: Float32Array;
  xShape: Shape4;
  /** Weight, OIHW (PyTorch's layout). */
  weight: Float32Array;
  weightShape: Shape4;
  bias?: Float32Array | null;
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
}

export interface Conv2dResult {
  y: Float32Array;
  shape: [number, number, number, number];
}

export interface Conv2dBackwardArgs extends Conv2dArgs {
  /** Gradient of the loss with respect to the output, NCHW. */
  dy: Float32Array;
  /** Compute the input gradient (default true); the first layer of a network does not need it. */
  inputGrad?: boolean;
}

export interface Conv2dGrads {
  dx: Float32Array | null;
  dWeight: Float32Array;
  dBias: Float32Array | null;
}

function geometry(a: Conv2dArgs, where: string): { g: Window; o: number } {
  const [n, c, h, w] = checkShape<Shape4>(where, 'xShape', a.xShape, 4);
  const [o, wc, kh, kw] = checkShape<Shape4>(where, 'weightShape', a.weightShape, 4);
  if (wc !== c) throw new RangeError(`${where}: weight expects ${wc} input channels, x has ${c}`);
  checkData(where, 'x', a.x, a.xShape);
  checkData(where, 'weight', a.weight, a.weightShape);
  if (a.bias != null) checkData(where, 'bias', a.bias, [o]);
  const g = resolveWindow(where, n, c, h, w, {
    kernel: [kh, kw],
    stride: pair(where, 'stride', a.stride, 1, 1),
    padding: a.padding ?? 0,
    dilation: pair(where, 'dilation', a.dilation, 1, 1),
  });
  return { g, o };
}

export function conv2d(engine: Engine, a: Conv2dArgs): Conv2dResult {
  const where = 'conv2d';
  const { g, o } = geometry(a, where);
  return engine.scoped((s) => {
    const x = s.f32(a.x.length, 'conv2d x', a.x);
    const w = s.f32(a.weight.length, 'conv2d weight', a.weight);
    const b = a.bias != null ? s.f32(o, 'conv2d bias', a.bias) : null;
    const y = s.f32(g.n * o * g.oh * g.ow, 'conv2d y');
    engine.exports.wcnn_conv2d_forward(
      g.n, g.c, g.h, g.w, o, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.oh, g.ow, x.ptr, w.ptr, b?.ptr ?? 0, 0, y.ptr,
    );
    return { y: y.read(), shape: [g.n, o, g.oh, g.ow] };
  });
}

export function conv2dBackward(engine: Engine, a: Conv2dBackwardArgs): Conv2dGrads {
  const where = 'conv2dBackward';
  const { g, o } = geometry(a, where);
  checkData(where, 'dy', a.dy, [g.n, o, g.oh, g.ow]);
  const wantDx = a.inputGrad ?? true;
  return engine.scoped((s) => {
    const x = s.f32(a.x.length, 'conv2d x', a.x);
    const w = s.f32(a.weight.length, 'conv2d weight', a.weight);
    const dy = s.f32(a.dy.length, 'conv2d dy', a.dy);
    const dx = wantDx ? s.f32(a.x.length, 'conv2d dx') : null;
    const dw = s.f32(a.weight.length, 'conv2d dweight');
    const db = a.bias != null ? s.f32(o, 'conv2d dbias') : null;
    engine.exports.wcnn_conv2d_backward(
      g.n, g.c, g.h, g.w, o, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.oh, g.ow,
      x.ptr, w.ptr, 0, dy.ptr, dx?.ptr ?? 0, dw.ptr, db?.ptr ?? 0, 0,
    );
    return { dx: dx?.read() ?? null, dWeight: dw.read(), dBias: db?.read() ?? null };
  });
}
