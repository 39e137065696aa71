// ReLU and the fused softmax cross-entropy on caller-owned arrays.
import { checkInt, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { RELU, SOFTMAX_CROSS_ENTROPY } from '../runtime/op-defs.js';
import { WasmOp } from '../runtime/op.js';
import { checkArgs, checkData, checkShape, type Shape2 } from './shapes.js';

export function relu(engine: Engine, x: Float32Array): Float32Array {
  checkData('relu', 'x', x, null);
  using op = new WasmOp(engine, RELU, 'relu', { n: Math.max(x.length, 1) });
  return engine.scoped((s) => {
    const xb = s.f32(x.length, 'relu x', x);
    const y = s.f32(x.length, 'relu y');
    op.forward(x.length ? 1 : 0, { x: xb.ptr, y: y.ptr });
    return y.read();
  });
}

/** `dx = dy · [y > 0]`, with `y` the forward output. */
export function reluBackward(engine: Engine, y: Float32Array, dy: Float32Array): Float32Array {
  checkData('reluBackward', 'y', y, null);
  checkData('reluBackward', 'dy', dy, [y.length]);
  using op = new WasmOp(engine, RELU, 'reluBackward', { n: Math.max(y.length, 1) });
  return engine.scoped((s) => {
    const yb = s.f32(y.length, 'relu y', y);
    const dyb = s.f32(y.length, 'relu dy', dy);
    const dx = s.f32(y.length, 'relu dx');
    op.backward(y.length ? 1 : 0, { y: yb.ptr, dy: dyb.ptr, dx: dx.ptr });
    return dx.read();
  });
}

/** Checks class labels: integers in [0, classes). */
export function checkLabels(where: string, labels: unknown, count: number, classes: number): ArrayLike<number> {
  if (!(ArrayBuffer.isView(labels) || Array.isArray(labels))) {
    throw new TypeError(`${where}: labels must be an array or typed array of class indices, got ${describe(labels)}`);
  }
  const l = labels as ArrayLike<number>;
  if (l.length !== count) throw new RangeError(`${where}: labels has length ${l.length}, expected ${count}`);
  for (let i = 0; i < l.length; i++) {
    const v = l[i];
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new RangeError(`${where}: label ${i} is ${v}, expected an integer class in [0, ${classes - 1}]`);
    }
  }
  return l;
}

/** Mean softmax cross-entropy over the batch and its gradient with respect to the logits. */
export function softmaxCrossEntropy(
  engine: Engine,
  a: { logits: Float32Array; shape: Shape2; labels: ArrayLike<number> },
): { loss: number; dLogits: Float32Array } {
  const where = 'softmaxCrossEntropy';
  checkArgs(where, a, 'logits, shape, labels');
  const [batch, classes] = checkShape<Shape2>(where, 'shape', a.shape, 2);
  checkInt(where, 'classes', classes, 1);
  engine.heap.checkElements(where, `logits [${batch}, ${classes}]`, batch * classes);
  checkData(where, 'logits', a.logits, a.shape);
  const labels = checkLabels(where, a.labels, batch, classes);
  using op = new WasmOp(engine, SOFTMAX_CROSS_ENTROPY, where, { classes });
  return engine.scoped((s) => {
    const logits = s.f32(a.logits.length, 'logits', a.logits);
    const l = s.u32(batch, 'labels', labels);
    const dlogits = s.f32(a.logits.length, 'dlogits');
    const loss = s.u32(2, 'loss'); // one f64
    op.forward(batch, { logits: logits.ptr, labels: l.ptr, dlogits: dlogits.ptr, loss: loss.ptr });
    return { loss: new Float64Array(loss.read().buffer)[0], dLogits: dlogits.read() };
  });
}
