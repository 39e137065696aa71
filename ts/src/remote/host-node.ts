// Entry script of spawn()'s dedicated worker for the Node entry: a node:worker_threads Worker (Node), or a
// Web Worker (Deno, Bun). Either way the engine inside uses the Node platform (node:fs, worker_threads).
import { nodePlatform } from '../runtime/platform-node.js';
import type { ToHost } from './protocol.js';
import { inWebWorker, serve, webWorkerPort, type Port } from './serve.js';

async function connect(): Promise<Port> {
  if (inWebWorker()) return webWorkerPort();
  const { parentPort } = await import('node:worker_threads');
  if (!parentPort) throw new Error('wasmcnn: the remote host must run in a worker');
  return {
    post: (m, t = []) => parentPort.postMessage(m, t),
    listen: (fn) => parentPort.on('message', (m: ToHost) => fn(m)),
  };
}

serve(await connect(), nodePlatform);
