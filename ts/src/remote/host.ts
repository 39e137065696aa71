// Entry point of the dedicated worker that a RemoteEngine starts (`spawn()`): a Web Worker (browsers, Deno,
// Bun) or a node:worker_threads Worker. It owns the Engine, which may block here while its pool works.
import { Dispatcher, transferables, type EmitCallback } from './dispatcher.js';
import { deserializeError, serializeError, type FromHost, type ToHost } from './protocol.js';

interface Port {
  post(m: FromHost, transfer?: ArrayBuffer[]): void;
  listen(fn: (m: ToHost) => void): void;
}

interface WebWorkerScope {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (ev: { data: unknown }) => void): void;
}

async function connect(): Promise<Port> {
  const g = globalThis as unknown as Partial<WebWorkerScope> & { window?: unknown };
  // A web worker has a global postMessage and no window; a node:worker_threads Worker has a parentPort.
  if (typeof g.postMessage === 'function' && typeof g.addEventListener === 'function' && g.window === undefined) {
    const self = g as WebWorkerScope;
    return {
      post: (m, t = []) => self.postMessage(m, t),
      listen: (fn) => self.addEventListener('message', (ev) => fn(ev.data as ToHost)),
    };
  }
  const { parentPort } = await import('node:worker_threads');
  if (!parentPort) throw new Error('wasmcnn: the remote host must run in a worker');
  return {
    post: (m, t = []) => parentPort.postMessage(m, t),
    listen: (fn) => parentPort.on('message', (m: ToHost) => fn(m)),
  };
}

const port = await connect();
const dispatcher = new Dispatcher();
const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
let seq = 0;

/** Callbacks of request `call`: each waits for the caller's reply, so fit runs them in order as in-process. */
const emitFor =
  (call: number): EmitCallback =>
  (name, info) =>
    new Promise<void>((resolve, reject) => {
      const s = ++seq;
      waiting.set(s, { resolve, reject });
      port.post({ kind: 'event', call, seq: s, name, info });
    });

port.listen(async (m) => {
  if (m.kind === 'event-reply') {
    const w = waiting.get(m.seq);
    waiting.delete(m.seq);
    if (m.ok) w?.resolve();
    else w?.reject(deserializeError(m.error));
    return;
  }
  try {
    const value = await dispatcher.handle(m.op, m.target, m.args, emitFor(m.id));
    port.post({ kind: 'response', id: m.id, ok: true, value }, transferables(value));
  } catch (e) {
    port.post({ kind: 'response', id: m.id, ok: false, error: serializeError(e) });
  }
});
port.post({ kind: 'ready' });
