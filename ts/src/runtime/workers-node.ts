// Worker threads for the simd-threads build in Node (and runtimes with `node:worker_threads`: Deno, Bun).
// Each worker instantiates the same module over the shared memory, gets its own stack and TLS block
// (allocated by the main instance), reports ready, then lends itself to rayon (wcnn_worker_entry never
// returns while the pool lives). See ../shared/TOOLCHAIN.md for why the order matters.
import type { WasmExports } from './exports.js';

/** Stack per worker thread: rayon's job frames are shallow, the kernels' scratch lives on the heap. */
export const WORKER_STACK_BYTES = 1 << 20;

// Runs inside each worker (CommonJS, `eval: true`), so it needs no file of its own to be resolved.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// Not \`module\`: Deno and Bun wrap eval'd worker code in a scope that already declares it.
const { wasmModule, memory, stackTop, tls } = workerData;
const instance = new WebAssembly.Instance(wasmModule, { env: { memory } });
const ex = instance.exports;
ex.__stack_pointer.value = stackTop;
ex.__wasm_init_tls(tls);
parentPort.postMessage('ready');
try {
  ex.wcnn_worker_entry();
} catch {
  // A trap: mark the pool dead, which wakes the caller waiting for this task (it reports PoolDead).
  ex.__stack_pointer.value = stackTop;
  ex.wcnn_worker_trapped();
}
`;

export interface ThreadExports extends WasmExports {
  __tls_size: WebAssembly.Global;
  __tls_align: WebAssembly.Global;
  wcnn_pool_build(threads: number): number;
  wcnn_pool_threads(): number;
  wcnn_pool_retire(): void;
}

export interface WorkerPool {
  threads: number;
  terminate(): Promise<void>;
}

interface NodeWorker {
  once(ev: 'message', f: (m: unknown) => void): void;
  once(ev: 'error', f: (e: Error) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

export async function startNodeWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory, ex: ThreadExports, threads: number): Promise<WorkerPool> {
  const { Worker } = (await import('node:worker_threads')) as unknown as {
    Worker: new (src: string, opts: { eval: true; workerData: unknown }) => NodeWorker;
  };
  const tlsSize = Number(ex.__tls_size.value);
  const tlsAlign = Number(ex.__tls_align.value);
  if (tlsAlign > 16) throw new Error(`wasmcnn: TLS alignment ${tlsAlign} exceeds the allocator's 16`);
  const workers: NodeWorker[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < threads; i++) {
    const stack = ex.wcnn_alloc(WORKER_STACK_BYTES);
    const tls = ex.wcnn_alloc(Math.max(tlsSize, 16));
    if (stack === 0 || tls === 0) throw new RangeError('wasmcnn: out of wasm memory for worker stacks');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { wasmModule: module, memory, stackTop: stack + WORKER_STACK_BYTES, tls } });
    workers.push(w);
    ready.push(
      new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', (e) => reject(new Error(`wasmcnn: worker ${i} failed to start: ${e.message}`)));
      }),
    );
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  // Only after "ready": an unref'd worker that has not started yet would let the process exit early.
  for (const w of workers) w.unref();
  if (ex.wcnn_pool_build(threads) !== 0) throw new Error('wasmcnn: the thread pool was already built in this module instance');
  return {
    threads: ex.wcnn_pool_threads(),
    terminate: async () => {
      ex.wcnn_pool_retire(); // first: no worker may be ended holding the allocator's lock
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
