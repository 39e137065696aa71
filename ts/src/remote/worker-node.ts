// spawn()'s dedicated worker for the Node entry: a Web Worker where the runtime has one (Deno, Bun), else a
// node:worker_threads Worker, held (ref'd) only while calls are pending so that it never keeps Node alive.
import { webHostWorker, type HostEvents, type HostWorker, type WebWorkerLike } from './transport.js';

export async function startHostWorker(events: HostEvents): Promise<HostWorker> {
  // From the TypeScript sources (run through a loader such as tsx) the host is host-node.ts; built, host-node.js.
  const url = new URL(import.meta.url.endsWith('.ts') ? './host-node.ts' : './host-node.js', import.meta.url);
  const W = (globalThis as unknown as { Worker?: new (url: URL, o: { type: 'module' }) => WebWorkerLike }).Worker;
  if (typeof W === 'function') return webHostWorker(new W(url, { type: 'module' }), events);
  const { Worker } = await import('node:worker_threads');
  const w = new Worker(url);
  w.on('message', (m) => events.message(m));
  w.on('error', (e: Error) => events.error(new Error(`wasmcnn: the engine's worker failed: ${e.message}`)));
  w.on('exit', (code) => events.error(new Error(`wasmcnn: the engine's worker exited (code ${code})`)));
  return {
    post: (m, t = []) => w.postMessage(m, t),
    hold: (busy) => (busy ? w.ref() : w.unref()),
    kill: async () => {
      w.removeAllListeners('exit');
      await w.terminate();
    },
  };
}
