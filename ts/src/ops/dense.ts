// dense (PyTorch Linear: weight out × in) on caller-owned Float32Arrays.
import type { Engine } from '../runtime/engine.js';
import { checkData, checkShape, type Shape2 } from './shapes.js';

export interface DenseArgs {
  /** batch × in */
  x: Float32Array;
  xShape: Shape2;
  /** out × in */
  weight: Float32Array;
  weightShape: Shape2;
  bias?: Float32Array | null;
}

function dims(where: string, a: DenseArgs): [number, number, number] {
  const [batch, inp] = checkShape<Shape2>(where, 'xShape', a.xShape, 2);
  const [out, win] = checkShape<Shape2>(where, 'weightShape', a.weightShape, 2);
  if (win !== inp) throw new RangeError(`${where}: weight expects ${win} inputs, x has ${inp}`);
  checkData(where, 'x', a.x, a.xShape);
  checkData(where, 'weight', a.weight, a.weightShape);
  if (a.bias != null) checkData(where, 'bias', a.bias, [out]);
  return [batch, inp, out];
}

export function dense(engine: Engine, a: DenseArgs): { y: Float32Array; shape: [number, number] } {
  const [batch, inp, out] = dims('dense', a);
  return engine.scoped((s) => {
    const x = s.f32(a.x.length, 'dense x', a.x);
    const w = s.f32(a.weight.length, 'dense weight', a.weight);
    const b = a.bias != null ? s.f32(out, 'dense bias', a.bias) : null;
    const y = s.f32(batch * out, 'dense y');
    engine.exports.wcnn_dense_forward(batch, inp, out, x.ptr, w.ptr, b?.ptr ?? 0, 0, y.ptr);
    return { y: y.read(), shape: [batch, out] };
  });
}

export function denseBackward(
  engine: Engine,
  a: DenseArgs & { dy: Float32Array; inputGrad?: boolean },
): { dx: Float32Array | null; dWeight: Float32Array; dBias: Float32Array | null } {
  const where = 'denseBackward';
  const [batch, inp, out] = dims(where, a);
  checkData(where, 'dy', a.dy, [batch, out]);
  return engine.scoped((s) => {
    const x = s.f32(a.x.length, 'dense x', a.x);
    const w = s.f32(a.weight.length, 'dense weight', a.weight);
    const dy = s.f32(a.dy.length, 'dense dy', a.dy);
    const dx = (a.inputGrad ?? true) ? s.f32(a.x.length, 'dense dx') : null;
    const dw = s.f32(a.weight.length, 'dense dweight');
    const db = a.bias != null ? s.f32(out, 'dense dbias') : null;
    engine.exports.wcnn_dense_backward(batch, inp, out, x.ptr, w.ptr, 0, dy.ptr, dx?.ptr ?? 0, dw.ptr, db?.ptr ?? 0, 0);
    return { dx: dx?.read() ?? null, dWeight: dw.read(), dBias: db?.read() ?? null };
  });
}
