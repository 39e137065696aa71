// One optimizer step's forward and backward passes: the step's samples in micro-batches of `batchSize`,
// each loss gradient scaled by its share of the step's samples and the parameter gradients summed (so
// k micro-batches give the gradient of one batch of all their samples). Shared by fit and lrFind.
import type { Plan } from '../nn/plan.js';
import { gather } from './batch.js';
import type { Loss } from './loss.js';

export interface StepData {
  x: Float32Array;
  y: ArrayLike<number>;
  /** Samples in x. */
  n: number;
  /** Values per sample. */
  per: number;
  /** The epoch's sample order (null: in order). */
  order: Uint32Array | null;
}

/**
 * Runs samples `from..from+total` of the order: forward, loss and backward per micro-batch. Returns the
 * mean loss over the step, or the non-finite loss value and where the forward first went non-finite (no
 * backward ran for that micro-batch then).
 */
export function forwardBackward(
  plan: Plan,
  loss: Loss,
  d: StepData,
  from: number,
  total: number,
  batchSize: number,
): { loss: number; nonFinite: null | { value: number; where: string | null } } {
  let sum = 0;
  for (let m = 0; m * batchSize < total; m++) {
    const at = from + m * batchSize;
    const size = Math.min(batchSize, total - m * batchSize);
    gather(plan, d.per, d.x, d.order, at, size);
    loss.gather(d.y, d.n, d.order, at, size);
    plan.forward(size, true);
    const value = loss.forward(plan.outputPtr, plan.outputGradPtr, size, size / total);
    if (!Number.isFinite(value)) return { loss: NaN, nonFinite: { value, where: plan.firstNonFinite(size) } };
    plan.backward(size, m > 0, true);
    sum += value * size;
  }
  return { loss: sum / total, nonFinite: null };
}
