// How a RemoteEngine reaches its Dispatcher: by messages to a dedicated worker, or by direct calls when the
// engine lives in the calling thread. Both run the same Dispatcher code and the same async API above it.
import type { Callbacks } from '../train/fit.js';
import { Dispatcher } from './dispatcher.js';
import { deserializeError, serializeError, type FromHost, type ToHost } from './protocol.js';

const TERMINATED = 'wasmcnn: this engine was terminated and cannot be used';

export interface Transport {
  call(op: string, target: number | undefined, args: unknown[], opts?: { transfer?: ArrayBuffer[]; callbacks?: CallerCallbacks }): Promise<unknown>;
  close(): Promise<void>;
}

/** The caller-side functions of one fit: its callbacks, and `onCheckpoint` (the checkpoint option's save). */
export type CallerCallbacks = Callbacks & { onCheckpoint?(c: unknown): void | Promise<void> };

async function runCallback(callbacks: CallerCallbacks | undefined, name: keyof CallerCallbacks, info: unknown): Promise<void> {
  const fn = callbacks?.[name] as ((info: unknown) => void | Promise<void>) | undefined;
  if (fn) await fn(info);
}

/** The engine in this thread: calls go straight to the Dispatcher (nothing is copied). */
export class LocalTransport implements Transport {
  readonly #d = new Dispatcher();
  #closed = false;
  async call(op: string, target: number | undefined, args: unknown[], opts: { callbacks?: CallerCallbacks } = {}): Promise<unknown> {
    if (this.#closed) throw new Error(TERMINATED);
    return this.#d.handle(op, target, args, (name, info) => runCallback(opts.callbacks, name, info));
  }
  async close(): Promise<void> {
    this.#closed = true;
  }
}

/** The two Worker shapes: the web's (browsers, Deno, Bun) and node:worker_threads'. */
interface HostWorker {
  post(m: ToHost, transfer?: ArrayBuffer[]): void;
  /** Keeps a Node process alive only while calls are pending (no-op on the web). */
  hold(busy: boolean): void;
  terminate(): Promise<void>;
}

type WebWorkerLike = {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  terminate(): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: { message?: string; preventDefault?(): void }) => void) | null;
};

async function startWorker(onMessage: (m: FromHost) => void, onError: (e: Error) => void): Promise<HostWorker> {
  const W = (globalThis as unknown as { Worker?: new (url: URL, o: { type: 'module' }) => WebWorkerLike }).Worker;
  if (typeof W === 'function') {
    // The literal `new Worker(new URL(…, import.meta.url), { type: 'module' })` is the form bundlers rewrite.
    const w = new W(new URL('./host.js', import.meta.url), { type: 'module' });
    w.onmessage = (ev) => onMessage(ev.data as FromHost);
    w.onerror = (ev) => {
      ev.preventDefault?.();
      onError(new Error(`wasmcnn: the engine's worker failed: ${ev.message ?? 'error'}`));
    };
    return { post: (m, t = []) => w.postMessage(m, t), hold: () => {}, terminate: async () => w.terminate() };
  }
  const { Worker } = await import('node:worker_threads');
  // From the TypeScript sources (run through a loader such as tsx) the host is host.ts; built, host.js.
  const file = import.meta.url.endsWith('.ts') ? './host.ts' : './host.js';
  const w = new Worker(new URL(file, import.meta.url));
  w.on('message', (m: FromHost) => onMessage(m));
  w.on('error', (e: Error) => onError(new Error(`wasmcnn: the engine's worker failed: ${e.message}`)));
  w.on('exit', (code) => onError(new Error(`wasmcnn: the engine's worker exited (code ${code})`)));
  return {
    post: (m, t = []) => w.postMessage(m, t),
    hold: (busy) => (busy ? w.ref() : w.unref()),
    terminate: async () => {
      w.removeAllListeners('exit');
      await w.terminate();
    },
  };
}

/** The engine in a dedicated worker: calls are messages, results come back as transfers where they can. */
export class WorkerTransport implements Transport {
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; callbacks?: CallerCallbacks }>();
  #worker: HostWorker | null = null;
  #dead: Error | null = null;
  #next = 1;

  private constructor() {}

  static async start(): Promise<WorkerTransport> {
    const t = new WorkerTransport();
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const started = new Promise<void>((res, rej) => ((ready = res), (failed = rej)));
    t.#worker = await startWorker(
      (m) => (m.kind === 'ready' ? ready() : t.#receive(m)),
      (e) => {
        failed(e);
        t.#fail(e);
      },
    );
    t.#worker.hold(true);
    await started;
    return t;
  }

  #receive(m: Exclude<FromHost, { kind: 'ready' }>): void {
    if (m.kind === 'event') {
      const cb = this.#pending.get(m.call)?.callbacks;
      runCallback(cb, m.name, m.info).then(
        () => this.#worker?.post({ kind: 'event-reply', seq: m.seq, ok: true }),
        (e: unknown) => this.#worker?.post({ kind: 'event-reply', seq: m.seq, ok: false, error: serializeError(e) }),
      );
      return;
    }
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (this.#pending.size === 0) this.#worker?.hold(false);
    if (m.ok) p.resolve(m.value);
    else p.reject(deserializeError(m.error));
  }

  #fail(e: Error): void {
    this.#dead ??= e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  call(op: string, target: number | undefined, args: unknown[], opts: { transfer?: ArrayBuffer[]; callbacks?: CallerCallbacks } = {}): Promise<unknown> {
    if (this.#dead) return Promise.reject(this.#dead);
    const w = this.#worker!;
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, callbacks: opts.callbacks });
      w.hold(true);
      w.post({ kind: 'request', id, op, target, args }, opts.transfer);
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    this.#fail(new Error(TERMINATED));
    await w?.terminate();
  }
}
