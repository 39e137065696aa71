// Web Workers for the threaded build (browsers, inside a dedicated worker; never imports `node:*`). The
// pool's protocol is in pool.ts; each worker runs WORKER_SOURCE from a Blob URL, so a bundle needs no file
// for it.
import { startPool, type ThreadExports, type WorkerPool } from './pool.js';

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
  try {
    return await startPool(module, memory, ex, threads, (i, init) => {
      const w = new W(url);
      const ready = new Promise<void>((resolve, reject) => {
        w.onmessage = () => resolve();
        w.onerror = (e) => reject(new Error(`wasmcnn: worker ${i} failed to start: ${e.message ?? 'error'}`));
      });
      w.postMessage(init);
      return { ready, terminate: () => w.terminate() };
    });
  } finally {
    URL.revokeObjectURL(url);
  }
}
