// What differs between the runtimes the package has an entry for: how wasm bytes are read, how many cores
// there are, how the threaded build's workers start, and how spawn()'s dedicated worker starts. The Node
// entry (index.ts: Node, Deno, Bun) and the browser entry (index.browser.ts: browsers, web workers,
// workerd) each pass their own, so a browser bundle never meets a `node:` import.
import type { HostWorker, HostEvents } from '../remote/transport.js';
import type { ThreadExports, WorkerPool } from './pool.js';

export type StartPool = (module: WebAssembly.Module, memory: WebAssembly.Memory, ex: ThreadExports, threads: number) => Promise<WorkerPool>;

export interface Platform {
  /** The bytes at a URL or path; `shipped`: one of the package's own builds (a missing file is a broken install). */
  read(src: URL | string, shipped: boolean): Promise<ArrayBuffer | ArrayBufferView>;
  /** Cores the runtime reports. */
  cores(): Promise<number>;
  /** How this runtime starts the threaded build's workers; null where it has no Worker. */
  pool(): Promise<StartPool | null>;
  /** Starts the dedicated worker that hosts a RemoteEngine (spawn()). */
  startHost(events: HostEvents): Promise<HostWorker>;
}
