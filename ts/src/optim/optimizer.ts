// The optimizer base: state slots as flat f32 buffers parallel to the parameters, one fused wasm call a step.
import { checkKeys, checkNumber, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';

export abstract class Optimizer {
  /** Completed steps (PyTorch's `state['step']`); the next step is `steps + 1`. */
  steps = 0;
  readonly #slots = new Map<string, F32Buffer>();
  #disposed = false;
  #lr = 0;

  protected constructor(
    protected readonly engine: Engine,
    readonly name: string,
    /** Number of parameters this optimizer updates. */
    readonly size: number,
  ) {}

  /**
   * The learning rate used by the next step. Settable between steps (a hand-rolled schedule, as with
   * PyTorch's `param_group['lr'] = …`); validated like the constructor's option.
   */
  get lr(): number {
    return this.#lr;
  }
  set lr(v: number) {
    this.#lr = checkNumber(this.name, 'lr', v, 0);
  }

  /** Allocates a named state slot of `size` floats, filled with `init`. */
  protected slot(name: string, init = 0): F32Buffer {
    const b = this.engine.alloc(this.size, `${this.name} state '${name}'`);
    if (init !== 0) b.view().fill(init);
    this.#slots.set(name, b);
    return b;
  }

  /** One update of `params` in place from `grads` (both `size` floats in wasm memory). */
  step(params: F32Buffer, grads: F32Buffer): void {
    this.#alive();
    for (const [what, b] of [['params', params], ['grads', grads]] as const) {
      if (b.length !== this.size) {
        throw new RangeError(`${this.name}.step: ${what} has ${b.length} values, this optimizer was built for ${this.size}`);
      }
    }
    this.apply(params.ptr, grads.ptr, this.steps + 1);
    this.steps++;
  }

  protected abstract apply(params: number, grads: number, step: number): void;

  /** The hyper-parameters, as plain JSON. */
  abstract get config(): Record<string, unknown>;

  /** Copies of the state slots by name (e.g. `exp_avg`), for inspection and checkpoints. */
  state(): Record<string, Float32Array> {
    this.#alive();
    return Object.fromEntries([...this.#slots].map(([k, b]) => [k, b.read()]));
  }

  protected ptrOf(name: string): number {
    return this.#slots.get(name)?.ptr ?? 0;
  }

  #alive(): void {
    if (this.#disposed) throw new Error(`wasmcnn: ${this.name} optimizer was disposed and cannot be used`);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const b of this.#slots.values()) b.dispose();
    this.#slots.clear();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Checks a config object: a plain object whose keys are all known. */
export function checkConfig(where: string, cfg: unknown, known: readonly string[]): Record<string, unknown> {
  if (cfg === undefined) return {};
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    throw new TypeError(`${where}: options must be an object, got ${describe(cfg)}`);
  }
  checkKeys(where, cfg, known);
  return cfg as Record<string, unknown>;
}
