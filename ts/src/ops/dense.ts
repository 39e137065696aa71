// dense (PyTorch Linear: weight out × in) on caller-owned Float32Arrays.
import type { Engine } from '../runtime/engine.js';
import { DENSE, type OpOf } from '../runtime/op-defs.js';
import { Activation, WasmOp } from '../runtime/op.js';
import { checkArgs, checkData, checkShape, type Shape2 } from './shapes.js';

export interface DenseArgs {
  /** batch × in */
  x: Float32Array;
  xShape: Shape2;
  /** out × in */
  weight: Float32Array;
  weightShape: Shape2;
  bias?: Float32Array | null;
}

/** Shapes, then sizes (against the engine's one-buffer limit), then data; then the operator. */
function prepare(engine: Engine, where: string, a: DenseArgs): { batch: number; out: number; op: OpOf<typeof DENSE> } {
  checkArgs(where, a, 'x, xShape, weight, weightShape, …');
  const [batch, inp] = checkShape<Shape2>(where, 'xShape', a.xShape, 2);
  const [out, win] = checkShape<Shape2>(where, 'weightShape', a.weightShape, 2);
  if (win !== inp) throw new RangeError(`${where}: weight expects ${win} inputs, x has ${inp}`);
  const heap = engine.heap;
  heap.checkElements(where, `x [${batch}, ${inp}]`, batch * inp);
  heap.checkElements(where, `weight [${out}, ${inp}]`, out * inp);
  heap.checkElements(where, `the output [${batch}, ${out}]`, batch * out);
  checkData(where, 'x', a.x, a.xShape);
  checkData(where, 'weight', a.weight, a.weightShape);
  if (a.bias != null) checkData(where, 'bias', a.bias, [out]);
  return { batch, out, op: new WasmOp(engine, DENSE, where, { in: inp, out, activation: Activation.none }) };
}

export function dense(engine: Engine, a: DenseArgs): { y: Float32Array; shape: [number, number] } {
  const { batch, out, op } = prepare(engine, 'dense', a);
  using _op = op;
  return engine.scoped((s) => {
    const x = s.f32(a.x.length, 'dense x', a.x);
    const weight = s.f32(a.weight.length, 'dense weight', a.weight);
    const bias = a.bias != null ? s.f32(out, 'dense bias', a.bias) : null;
    const y = s.f32(batch * out, 'dense y');
    op.forward(batch, { x: x.ptr, weight: weight.ptr, bias: bias?.ptr, y: y.ptr });
    return { y: y.read(), shape: [batch, out] };
  });
}

export function denseBackward(
  engine: Engine,
  a: DenseArgs & { dy: Float32Array; inputGrad?: boolean },
): { dx: Float32Array | null; dWeight: Float32Array; dBias: Float32Array | null } {
  const where = 'denseBackward';
  const { batch, out, op } = prepare(engine, where, a);
  using _op = op;
  checkData(where, 'dy', a.dy, [batch, out]);
  return engine.scoped((s) => {
    const x = s.f32(a.x.length, 'dense x', a.x);
    const weight = s.f32(a.weight.length, 'dense weight', a.weight);
    const dy = s.f32(a.dy.length, 'dense dy', a.dy);
    const dx = (a.inputGrad ?? true) ? s.f32(a.x.length, 'dense dx') : null;
    const dweight = s.f32(a.weight.length, 'dense dweight');
    const dbias = a.bias != null ? s.f32(out, 'dense dbias') : null;
    op.backward(batch, { x: x.ptr, weight: weight.ptr, dy: dy.ptr, dx: dx?.ptr, dweight: dweight.ptr, dbias: dbias?.ptr });
    return { dx: dx?.read() ?? null, dWeight: dweight.read(), dBias: dbias?.read() ?? null };
  });
}
