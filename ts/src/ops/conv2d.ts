// conv2d on caller-owned Float32Arrays: the documented low-level API (copies in, runs the kernel, copies out).
import type { Engine } from '../runtime/engine.js';
import { CONV2D, type OpOf } from '../runtime/op-defs.js';
import { Activation, WasmOp } from '../runtime/op.js';
import { pair, resolveWindow, type Padding, type Pair, type Window } from './geometry.js';
import { checkArgs, checkData, checkShape, size, type Shape4 } from './shapes.js';

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

/** Shapes, then sizes (against the engine's one-buffer limit), then data; then the operator. */
function prepare(engine: Engine, a: Conv2dArgs, where: string): { g: Window; o: number; op: OpOf<typeof CONV2D> } {
  checkArgs(where, a, 'x, xShape, weight, weightShape, …');
  const [n, c, h, w] = checkShape<Shape4>(where, 'xShape', a.xShape, 4);
  const [o, wc, kh, kw] = checkShape<Shape4>(where, 'weightShape', a.weightShape, 4);
  if (wc !== c) throw new RangeError(`${where}: weight expects ${wc} input channels, x has ${c}`);
  const g = resolveWindow(where, n, c, h, w, {
    kernel: [kh, kw],
    stride: pair(where, 'stride', a.stride, 1, 1),
    padding: a.padding ?? 0,
    dilation: pair(where, 'dilation', a.dilation, 1, 1),
  });
  const heap = engine.heap;
  heap.checkElements(where, `x [${a.xShape.join(', ')}]`, size(a.xShape));
  heap.checkElements(where, `weight [${a.weightShape.join(', ')}]`, size(a.weightShape));
  heap.checkElements(where, `the output [${[n, o, g.oh, g.ow].join(', ')}]`, n * o * g.oh * g.ow);
  checkData(where, 'x', a.x, a.xShape);
  checkData(where, 'weight', a.weight, a.weightShape);
  if (a.bias != null) checkData(where, 'bias', a.bias, [o]);
  return { g, o, op: new WasmOp(engine, CONV2D, where, { ...g, o, activation: Activation.none }) };
}

export function conv2d(engine: Engine, a: Conv2dArgs): Conv2dResult {
  const { g, o, op } = prepare(engine, a, 'conv2d');
  using _op = op;
  return engine.scoped((s) => {
    const x = s.f32(a.x.length, 'conv2d x', a.x);
    const weight = s.f32(a.weight.length, 'conv2d weight', a.weight);
    const bias = a.bias != null ? s.f32(o, 'conv2d bias', a.bias) : null;
    const y = s.f32(g.n * o * g.oh * g.ow, 'conv2d y');
    op.forward(g.n, { x: x.ptr, weight: weight.ptr, bias: bias?.ptr, y: y.ptr });
    return { y: y.read(), shape: [g.n, o, g.oh, g.ow] };
  });
}

export function conv2dBackward(engine: Engine, a: Conv2dBackwardArgs): Conv2dGrads {
  const where = 'conv2dBackward';
  const { g, o, op } = prepare(engine, a, where);
  using _op = op;
  checkData(where, 'dy', a.dy, [g.n, o, g.oh, g.ow]);
  const wantDx = a.inputGrad ?? true;
  return engine.scoped((s) => {
    const x = s.f32(a.x.length, 'conv2d x', a.x);
    const weight = s.f32(a.weight.length, 'conv2d weight', a.weight);
    const dy = s.f32(a.dy.length, 'conv2d dy', a.dy);
    const dx = wantDx ? s.f32(a.x.length, 'conv2d dx') : null;
    const dweight = s.f32(a.weight.length, 'conv2d dweight');
    const dbias = a.bias != null ? s.f32(o, 'conv2d dbias') : null;
    op.backward(g.n, { x: x.ptr, weight: weight.ptr, dy: dy.ptr, dx: dx?.ptr, dweight: dweight.ptr, dbias: dbias?.ptr });
    return { dx: dx?.read() ?? null, dWeight: dweight.read(), dBias: dbias?.read() ?? null };
  });
}
