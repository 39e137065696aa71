// Web Workers for the simd-threads build where `node:worker_threads` is absent (browsers, inside a
// dedicated worker). Same protocol as workers-node.ts: own stack and TLS, ready, then rayon's loop.
import type { ThreadExports, WorkerPool } from './workers-node.js';
import { WORKER_STACK_BYTES } from './workers-node.js';

const WORKER_SOURCE = `
onmessage = (ev) => {
  const { module, memory, stackTop, tls } = ev.data;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const ex = instance.exports;
  ex.__stack_pointer.value = stackTop;
  ex.__wasm_init_tls(tls);
  postMessage('ready');
  try {
    ex.wcnn_worker_entry();
  } catch {
    // A trap: mark the pool dead, which wakes the caller waiting for this task (it reports PoolDead).
    ex.__stack_pointer.value = stackTop;
    ex.wcnn_worker_trapped();
  }
};
`;

interface WebWorker {
  postMessage(m: unknown): void;
  terminate(): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: { message?: string }) => void) | null;
}

export function hasWebWorkers(): boolean {
  return typeof (globalThis as { Worker?: unknown }).Worker === 'function' && typeof Blob === 'function' && typeof URL.createObjectURL === 'function';
}

export async function startWebWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory, ex: ThreadExports, threads: number): Promise<WorkerPool> {
  const W = (globalThis as unknown as { Worker: new (url: string) => WebWorker }).Worker;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const tlsSize = Number(ex.__tls_size.value);
  const workers: WebWorker[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < threads; i++) {
    const stack = ex.wcnn_alloc(WORKER_STACK_BYTES);
    const tls = ex.wcnn_alloc(Math.max(tlsSize, 16));
    if (stack === 0 || tls === 0) throw new RangeError('wasmcnn: out of wasm memory for worker stacks');
    const w = new W(url);
    workers.push(w);
    ready.push(
      new Promise<void>((resolve, reject) => {
        w.onmessage = () => resolve();
        w.onerror = (e) => reject(new Error(`wasmcnn: worker ${i} failed to start: ${e.message ?? 'error'}`));
      }),
    );
    w.postMessage({ module, memory, stackTop: stack + WORKER_STACK_BYTES, tls });
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    workers.forEach((w) => w.terminate());
    throw e;
  } finally {
    URL.revokeObjectURL(url);
  }
  if (ex.wcnn_pool_build(threads) !== 0) throw new Error('wasmcnn: the thread pool was already built in this module instance');
  return {
    threads: ex.wcnn_pool_threads(),
    terminate: async () => {
      ex.wcnn_pool_retire(); // first: no worker may be ended holding the allocator's lock
      workers.forEach((w) => w.terminate());
    },
  };
}
