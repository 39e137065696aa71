// Worker threads for the threaded build in Node (and runtimes with `node:worker_threads`: Deno, Bun). The
// pool's protocol is in pool.ts; this file only starts a worker_threads Worker per thread.
import { startPool, type ThreadExports, type WorkerPool } from './pool.js';

export type { ThreadExports, WorkerPool } from './pool.js';

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

interface NodeWorker {
  once(ev: 'message', f: (m: unknown) => void): void;
  once(ev: 'error', f: (e: Error) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

/** Whether `node:worker_threads` can be loaded here. */
export async function hasNodeWorkers(): Promise<boolean> {
  try {
    await import('node:worker_threads');
    return true;
  } catch {
    return false;
  }
}

export async function startNodeWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory, ex: ThreadExports, threads: number): Promise<WorkerPool> {
  const { Worker } = (await import('node:worker_threads')) as unknown as {
    Worker: new (src: string, opts: { eval: true; workerData: unknown }) => NodeWorker;
  };
  return startPool(module, memory, ex, threads, (i, { module: wasmModule, memory: mem, stackTop, tls }) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { wasmModule, memory: mem, stackTop, tls } });
    const ready = new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', (e) => reject(new Error(`wasmcnn: worker ${i} failed to start: ${e.message}`)));
    });
    return { ready, terminate: () => w.terminate(), unref: () => w.unref() };
  });
}
