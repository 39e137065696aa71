// An engine's health. A wasm trap (an `unreachable`, an out-of-bounds access) unwinds out of a kernel
// half-way: scratch may stay borrowed, the allocator's lists may be half-updated, a thread pool may wait for
// a worker that died. Nothing computed on that heap afterwards can be trusted, so the first trap poisons the
// engine and every later use throws, naming where it trapped, instead of computing on a poisoned heap.
import type { WasmExports } from './exports.js';

/** Thrown by every use of an engine after one of its kernels trapped. */
export class EngineTrapError extends Error {
  override name = 'EngineTrapError';
}

export class Health {
  #reason: string | null = null;
  #ended = false;
  #onPoison: (() => void) | null = null;

  /** Throws EngineTrapError once the engine is poisoned, an Error once it was terminated. */
  check(): void {
    if (this.#reason !== null) throw new EngineTrapError(this.#reason);
    if (this.#ended) throw new Error('wasmcnn: this engine was terminated and cannot be used');
  }

  /** The engine was terminated: its pool is gone, every later use refuses. */
  end(): void {
    this.#ended = true;
  }

  get poisoned(): boolean {
    return this.#reason !== null;
  }

  /** Neither poisoned nor terminated: memory may be freed and kernels called. */
  get usable(): boolean {
    return this.#reason === null && !this.#ended;
  }

  /** Marks the engine unusable (the first reason wins) and returns the error to throw now. */
  poison(where: string, cause: string): EngineTrapError {
    if (this.#reason === null) {
      this.#reason =
        `wasmcnn: this engine trapped in ${where} (${cause}); its memory can no longer be trusted, so it refuses ` +
        'further use. Create a new engine with init(); restore models from a checkpoint or toJSON() saved before.';
      const f = this.#onPoison;
      this.#onPoison = null;
      f?.();
    }
    return new EngineTrapError(this.#reason);
  }

  /** Called once when the engine is poisoned (the engine ends its worker threads then). */
  onPoison(f: () => void): void {
    this.#onPoison = f;
  }
}

/** `wcnn_conv2d_forward` → "conv2d forward": how a trap's location reads in the message. */
function label(name: string): string {
  return name.replace(/^wcnn_/, '').replace(/_/g, ' ');
}

/**
 * The exports with every function wrapped: refused once the engine is poisoned, and anything thrown out of
 * one poisons it. The module imports no JS functions, so whatever a call throws is a trap (a RuntimeError)
 * or a stack overflow (a RangeError): both leave the heap half-updated.
 */
export function guardExports(raw: WasmExports, health: Health): WasmExports {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(raw)) {
    if (typeof v !== 'function') {
      out[name] = v;
      continue;
    }
    const f = v as (...a: number[]) => unknown;
    out[name] = (...args: number[]) => {
      health.check();
      try {
        return f(...args);
      } catch (e) {
        throw health.poison(label(name), e instanceof Error ? `${e.name}: ${e.message}` : String(e));
      }
    };
  }
  return out as unknown as WasmExports;
}
