// Gathering a batch: the samples `order[from..from+count]` (or from..from+count in order) copied from the
// caller's Float32Array into a plan's input buffer in wasm memory.
import type { Plan } from '../nn/plan.js';

export function gather(plan: Plan, per: number, x: Float32Array, order: Uint32Array | null, from: number, count: number): void {
  const heap = plan.heap;
  const input = heap.f32.subarray(plan.inputPtr >>> 2, (plan.inputPtr >>> 2) + count * per);
  if (order === null) {
    input.set(x.subarray(from * per, (from + count) * per));
    return;
  }
  for (let k = 0; k < count; k++) {
    const s = order[from + k];
    input.set(x.subarray(s * per, (s + 1) * per), k * per);
  }
}
