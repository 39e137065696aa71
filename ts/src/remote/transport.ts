// How a RemoteEngine reaches its Dispatcher: by messages to a dedicated worker, or by direct calls when the
// engine lives in the calling thread. Both run the same Dispatcher code and the same async API above it.
import type { Callbacks } from '../train/fit.js';
import type { Platform } from '../runtime/platform.js';
import { Dispatcher } from './dispatcher.js';
import { deserializeError, serializeError, type FromHost, type ToHost } from './protocol.js';

const TERMINATED = 'wasmcnn: this engine was terminated and cannot be used';
/** How long an idle worker gets to end its engine (its thread pool) before it is killed. */
const GRACE_MS = 1000;

export interface Transport {
  call(op: string, target: number | undefined, args: unknown[], opts?: { transfer?: ArrayBuffer[]; callbacks?: CallerCallbacks }): Promise<unknown>;
  /** Ends the engine; every pending call rejects. Bounded: a worker that does not answer is killed. */
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
  readonly #d: Dispatcher;
  #closed = false;
  constructor(platform: Platform) {
    this.#d = new Dispatcher(platform);
  }
  async call(op: string, target: number | undefined, args: unknown[], opts: { callbacks?: CallerCallbacks } = {}): Promise<unknown> {
    if (this.#closed) throw new Error(TERMINATED);
    return this.#d.handle(op, target, args, (name, info) => runCallback(opts.callbacks, name, info));
  }
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#d.handle('terminate', undefined, [], async () => {});
  }
}

/** What the worker's owner hears: its messages, and its failure (an error event, or an exit). */
export interface HostEvents {
  message(m: FromHost): void;
  error(e: Error): void;
}

/** The two Worker shapes behind one interface: the web's (browsers, Deno, Bun) and node:worker_threads'. */
export interface HostWorker {
  /** Throws (a DataCloneError) when `m` cannot be cloned; nothing is sent then. */
  post(m: ToHost, transfer?: ArrayBuffer[]): void;
  /** Keeps a Node process alive only while calls are pending (no-op on the web). */
  hold(busy: boolean): void;
  /** Kills the worker at once, whatever it is doing (its own workers end with it). */
  kill(): Promise<void>;
}

/** The structural Web Worker this file needs (no DOM lib in the public types). */
export interface WebWorkerLike {
  postMessage(m: unknown, transfer?: ArrayBuffer[]): void;
  terminate(): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: { message?: string; preventDefault?(): void }) => void) | null;
}

/** A Web Worker as a HostWorker. */
export function webHostWorker(w: WebWorkerLike, events: HostEvents): HostWorker {
  w.onmessage = (ev) => events.message(ev.data as FromHost);
  w.onerror = (ev) => {
    ev.preventDefault?.();
    events.error(new Error(`wasmcnn: the engine's worker failed: ${ev.message ?? 'error'}`));
  };
  return { post: (m, t = []) => w.postMessage(m, t), hold: () => {}, kill: async () => w.terminate() };
}

/** Where a function or symbol (which structured cloning refuses) sits in `v`: '' for `v` itself. */
function unclonable(v: unknown, path = '', depth = 0): { path: string; kind: string } | null {
  if (typeof v === 'function' || typeof v === 'symbol') return { path, kind: typeof v };
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer || depth > 8) return null;
  for (const [k, x] of Object.entries(v)) {
    const found = unclonable(x, Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k, depth + 1);
    if (found) return found;
  }
  return null;
}

/** A TypeError naming what cannot be sent to the worker (a function in the options, say). */
function cloneError(op: string, args: unknown[], e: unknown): TypeError {
  for (let i = 0; i < args.length; i++) {
    const found = unclonable(args[i]);
    if (found) {
      const where = found.path ? `argument ${i + 1}'s ${found.path}` : `argument ${i + 1}`;
      return new TypeError(
        `${op}: ${where} is a ${found.kind}, which cannot be sent to the engine's worker (spawn() runs the engine ` +
          'in a worker, so options must be plain data; only callbacks and checkpoint.save may be functions)',
      );
    }
  }
  return new TypeError(`${op}: an argument cannot be sent to the engine's worker: ${(e as Error)?.message ?? String(e)}`);
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; callbacks?: CallerCallbacks };

/** The engine in a dedicated worker: calls are messages, results come back as transfers where they can. */
export class WorkerTransport implements Transport {
  readonly #pending = new Map<number, Pending>();
  #worker: HostWorker | null = null;
  #dead: Error | null = null;
  #next = 1;

  private constructor() {}

  static async start(platform: Platform): Promise<WorkerTransport> {
    const t = new WorkerTransport();
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const started = new Promise<void>((res, rej) => ((ready = res), (failed = rej)));
    t.#worker = await platform.startHost({
      message: (m) => (m.kind === 'ready' ? ready() : t.#receive(m)),
      error: (e) => {
        failed(e);
        t.#fail(e);
      },
    });
    t.#worker.hold(true);
    try {
      await started;
    } catch (e) {
      await t.close();
      throw e;
    }
    t.#worker.hold(false);
    return t;
  }

  #receive(m: Exclude<FromHost, { kind: 'ready' }>): void {
    if (m.kind === 'event') {
      const cb = this.#pending.get(m.call)?.callbacks;
      runCallback(cb, m.name, m.info).then(
        () => this.#post({ kind: 'event-reply', seq: m.seq, ok: true }),
        (e: unknown) => this.#post({ kind: 'event-reply', seq: m.seq, ok: false, error: serializeError(e) }),
      );
      return;
    }
    const p = this.#settle(m.id);
    if (!p) return;
    if (m.ok) p.resolve(m.value);
    else p.reject(deserializeError(m.error));
  }

  /** Removes a pending call; the worker stops holding the process once none is left. */
  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker?.hold(false);
    return p;
  }

  #post(m: ToHost): void {
    try {
      this.#worker?.post(m);
    } catch {
      // The worker is gone (terminated between the event and its reply): nothing waits for the reply.
    }
  }

  /** The worker is dead or ended: every pending call rejects with `e`, and so does every later call. */
  #fail(e: Error): void {
    this.#dead ??= e;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#worker?.hold(false);
    for (const p of pending) p.reject(e);
  }

  call(op: string, target: number | undefined, args: unknown[], opts: { transfer?: ArrayBuffer[]; callbacks?: CallerCallbacks } = {}): Promise<unknown> {
    if (this.#dead) return Promise.reject(this.#dead);
    const w = this.#worker!;
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, callbacks: opts.callbacks });
      w.hold(true);
      try {
        w.post({ kind: 'request', id, op, target, args }, opts.transfer);
      } catch (e) {
        // Nothing was sent (a function in the options, say): no reply will come, so nothing may stay pending.
        this.#settle(id);
        reject(cloneError(op, args, e));
      }
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    if (w === null) return;
    this.#worker = null;
    const busy = this.#pending.size > 0;
    this.#fail(new Error(busy ? `${TERMINATED} (terminate() was called while this call was running)` : TERMINATED));
    // An idle worker ends its engine (and thread pool) itself; a busy or silent one cannot answer, so it is
    // killed, which ends its thread pool's workers with it.
    if (!busy) await this.#askToEnd(w);
    await w.kill();
  }

  /** Sends 'terminate' and waits for its answer, at most GRACE_MS. */
  async #askToEnd(w: HostWorker): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = new Promise<void>((resolve) => {
      this.#pending.set(0, { resolve: () => resolve(), reject: () => resolve() });
      timer = setTimeout(resolve, GRACE_MS);
    });
    try {
      w.hold(true);
      w.post({ kind: 'request', id: 0, op: 'terminate', args: [] });
      await answered;
    } catch {
      // Could not post: the worker is gone already.
    } finally {
      clearTimeout(timer);
      this.#pending.delete(0);
      w.hold(false);
    }
  }
}
