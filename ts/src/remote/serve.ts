// The message loop of spawn()'s dedicated worker, shared by its two entry scripts (host.ts for browsers,
// host-node.ts for Node, Deno and Bun): owns a Dispatcher, runs each request, forwards fit's callbacks.
import type { Platform } from '../runtime/platform.js';
import { Dispatcher, transferables, type EmitCallback } from './dispatcher.js';
import { deserializeError, serializeError, type FromHost, type ToHost } from './protocol.js';

export interface Port {
  post(m: FromHost, transfer?: ArrayBuffer[]): void;
  listen(fn: (m: ToHost) => void): void;
}

interface WebWorkerScope {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (ev: { data: unknown }) => void): void;
}

/** True inside a Web Worker: a global postMessage and no window. */
export function inWebWorker(): boolean {
  const g = globalThis as unknown as Partial<WebWorkerScope> & { window?: unknown };
  return typeof g.postMessage === 'function' && typeof g.addEventListener === 'function' && g.window === undefined;
}

/** The port of the Web Worker this runs in. */
export function webWorkerPort(): Port {
  const scope = globalThis as unknown as WebWorkerScope;
  return {
    post: (m, t = []) => scope.postMessage(m, t),
    listen: (fn) => scope.addEventListener('message', (ev) => fn(ev.data as ToHost)),
  };
}

export function serve(port: Port, platform: Platform): void {
  const dispatcher = new Dispatcher(platform);
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
}
