// The threaded build's worker pool, whichever Worker implementation runs it (workers-node.ts: Node, Deno,
// Bun; workers-web.ts: browsers). Each worker instantiates the same module over the shared memory, gets its
// own stack and TLS block (allocated by the main instance), reports ready, then lends itself to rayon
// (wcnn_worker_entry never returns while the pool lives). See ../shared/TOOLCHAIN.md for why the order matters.
import type { WasmExports } from './exports.js';

/** Stack per worker thread: rayon's job frames are shallow, the kernels' scratch lives on the heap. */
export const WORKER_STACK_BYTES = 1 << 20;

export interface ThreadExports extends WasmExports {
  __tls_size: WebAssembly.Global;
  __tls_align: WebAssembly.Global;
  wcnn_pool_build(threads: number): number;
  /** Marks the pool ended before its workers are killed (a killed worker may hold the allocator's lock). */
  wcnn_pool_retire(): void;
  wcnn_pool_threads(): number;
}

export interface WorkerPool {
  threads: number;
  terminate(): Promise<void>;
}

/** What one worker is given: the module, the shared memory, its stack's top and its TLS block. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  stackTop: number;
  tls: number;
}

/** One started worker: resolves `ready` once it runs rayon's loop (rejects if it fails first). */
export interface PoolWorker {
  ready: Promise<void>;
  terminate(): Promise<unknown> | void;
  /** Lets the process exit while the worker lives (Node); called only once every worker is ready. */
  unref?(): void;
}

export type StartWorker = (i: number, init: WorkerInit) => PoolWorker;

/**
 * Starts `threads - 1` workers, waits until each is ready, then builds rayon's pool over them: the thread
 * that calls into the engine runs a share of every parallel loop itself, so `threads` threads compute.
 */
export async function startPool(module: WebAssembly.Module, memory: WebAssembly.Memory, ex: ThreadExports, threads: number, start: StartWorker): Promise<WorkerPool> {
  const tlsSize = Number(ex.__tls_size.value);
  const tlsAlign = Number(ex.__tls_align.value);
  if (tlsAlign > 16) throw new Error(`wasmcnn: TLS alignment ${tlsAlign} exceeds the allocator's 16`);
  const workers: PoolWorker[] = [];
  const end = () => Promise.all(workers.map((w) => w.terminate())).then(() => undefined);
  try {
    for (let i = 0; i < threads - 1; i++) {
      const stack = ex.wcnn_alloc(WORKER_STACK_BYTES);
      const tls = ex.wcnn_alloc(Math.max(tlsSize, 16));
      if (stack === 0 || tls === 0) throw new RangeError('wasmcnn: out of wasm memory for worker stacks');
      workers.push(start(i, { module, memory, stackTop: stack + WORKER_STACK_BYTES, tls }));
    }
    await Promise.all(workers.map((w) => w.ready));
  } catch (e) {
    await end();
    throw e;
  }
  // Only after "ready": an unref'd Node worker that has not started yet would let the process exit early.
  for (const w of workers) w.unref?.();
  if (ex.wcnn_pool_build(threads - 1) !== 0) throw new Error('wasmcnn: the thread pool was already built in this module instance');
  return {
    threads: ex.wcnn_pool_threads(),
    terminate: () => {
      ex.wcnn_pool_retire(); // first: a killed worker may hold the allocator's lock (the heap is done with)
      return end();
    },
  };
}
