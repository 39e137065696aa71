// What fit does when a loss, a gradient or an updated weight stops being finite. Every step is checked at
// the step it happens (the loss per micro-batch, the gradients in one pass before the update, the weights in
// one pass after it), and the step that produced it is undone from a copy taken before it: the model and the
// optimizer are left at the last finite state whatever the policy.
//
//   'throw'    (default) undo the step, then reject with a RangeError naming epoch, step, what and where
//   'skipStep' undo the step and go on with the next batch (each skip is reported through onWarning)
//   'restore'  undo the step and stop training: fit resolves, `history.nonFinite` says where and why
import { describe } from '../errors.js';
import type { Model } from '../nn/model.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import type { F32Buffer } from '../runtime/memory.js';

export type NonFinitePolicy = 'throw' | 'skipStep' | 'restore';
export const NON_FINITE_POLICIES: readonly NonFinitePolicy[] = ['throw', 'skipStep', 'restore'];

/** Where a non-finite value appeared (fit's onWarning info and `history.nonFinite`). */
export interface NonFiniteEvent {
  epoch: number;
  step: number;
  /** What stopped being finite. */
  what: 'loss' | 'gradient' | 'weight';
  /** The first layer output (loss), or parameter tensors (gradient, weight) where it was found. */
  where: string[];
  message: string;
}

export function checkPolicy(where: string, v: unknown): NonFinitePolicy {
  if (v === undefined) return 'throw';
  if (!(NON_FINITE_POLICIES as readonly unknown[]).includes(v)) {
    throw new TypeError(`${where}: onNonFinite must be one of ${NON_FINITE_POLICIES.map((p) => `'${p}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as NonFinitePolicy;
}

/** The parameter tensors of `buf` holding a non-finite value, in layout order. */
function nonFiniteTensors(model: Model, buf: F32Buffer): string[] {
  const ex = model.engine.exports;
  return model._paramLayout().filter((t) => t.length > 0 && ex.wcnn_first_non_finite(buf.ptr + 4 * t.offset, t.length) >= 0).map((t) => t.name);
}

/** The copy a step is undone from: the parameters (a reused array) and the optimizer's state. */
export class StepGuard {
  readonly #model: Model;
  readonly #optimizer: Optimizer;
  readonly #params: F32Buffer;
  readonly #grads: F32Buffer;
  readonly #state: F32Buffer;
  readonly #copy: Float32Array;
  /** BatchNorm's running statistics move in the forward pass: they are undone too. */
  readonly #stateCopy: Float32Array;
  #optState: OptimizerState | null = null;

  constructor(model: Model, optimizer: Optimizer) {
    this.#model = model;
    this.#optimizer = optimizer;
    ({ params: this.#params, grads: this.#grads, state: this.#state } = model._buffers);
    this.#copy = new Float32Array(this.#params.length);
    this.#stateCopy = new Float32Array(this.#state.length);
  }

  /** Before a step's forward passes: remembers the state to undo to. */
  save(): void {
    this.#copy.set(this.#params.view());
    this.#stateCopy.set(this.#state.view());
    this.#optState = this.#optimizer.saveState();
  }

  /** Puts back what `save` remembered. */
  undo(): void {
    this.#params.view().set(this.#copy);
    this.#state.view().set(this.#stateCopy);
    this.#optimizer._restoreState(this.#optState!);
  }

  /** Tensors whose gradient is non-finite, or [] (one pass over the whole gradient when all is well). */
  badGradients(): string[] {
    const ex = this.#model.engine.exports;
    if (Number.isFinite(ex.wcnn_sum_squares(this.#grads.ptr, this.#grads.length))) return [];
    return nonFiniteTensors(this.#model, this.#grads);
  }

  /** Tensors whose weights are non-finite after the update, or []. */
  badWeights(): string[] {
    const ex = this.#model.engine.exports;
    if (ex.wcnn_first_non_finite(this.#params.ptr, this.#params.length) < 0) return [];
    return nonFiniteTensors(this.#model, this.#params);
  }
}

/** The message of a non-finite event: what, where, and what to try. */
export function describeNonFinite(e: Omit<NonFiniteEvent, 'message'>, value?: number): string {
  const at = `epoch ${e.epoch}, step ${e.step}`;
  const list = e.where.length ? e.where.join(', ') : 'unknown';
  const hint = 'lower the learning rate, add clipNorm, or check the inputs\' scale';
  switch (e.what) {
    case 'loss':
      return `the loss became ${value} at ${at} (first non-finite layer output: ${list}); ${hint}`;
    case 'gradient':
      return `the gradients became non-finite at ${at} in ${list}; ${hint}`;
    case 'weight':
      return `the update at ${at} made weights non-finite in ${list}; ${hint}`;
  }
}
