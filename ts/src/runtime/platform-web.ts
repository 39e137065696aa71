// The Platform of the browser entry (pages, web workers, workerd): bytes by fetch, cores from navigator,
// the threaded build's workers as Web Workers from a Blob, spawn()'s worker from worker-web.ts. Nothing here
// imports `node:*`, so bundlers targeting browsers need no stubs.
import { startHostWorker } from '../remote/worker-web.js';
import type { Platform } from './platform.js';
import { hasWebWorkers, startWebWorkers } from './workers-web.js';

export const webPlatform: Platform = {
  async read(src) {
    let res: Response;
    try {
      res = await fetch(src);
    } catch (e) {
      throw new Error(`wasmcnn: cannot fetch the wasm build from ${String(src)}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new Error(`wasmcnn: fetching the wasm build from ${res.url || String(src)} failed: HTTP ${res.status}`);
    return await res.arrayBuffer();
  },
  async cores() {
    return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  },
  async pool() {
    return hasWebWorkers() ? startWebWorkers : null;
  },
  startHost: startHostWorker,
};
