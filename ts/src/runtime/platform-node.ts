// The Platform of the Node entry (Node, Deno, Bun): files through node:fs, cores from node:os, the threaded
// build's workers from node:worker_threads, spawn()'s worker from worker-node.ts.
import { startHostWorker } from '../remote/worker-node.js';
import type { Platform } from './platform.js';
import { hasNodeWorkers, startNodeWorkers } from './workers-node.js';
import { hasWebWorkers, startWebWorkers } from './workers-web.js';

/** A path, or a URL string with a scheme other than file:, or a URL. */
function toFileTarget(src: URL | string): URL | string | null {
  if (src instanceof URL) return src.protocol === 'file:' ? src : null;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(src)) return src; // a path
  return src.startsWith('file:') ? new URL(src) : null;
}

/** Node's errors carry `code`; Deno's permission error is a `NotCapable` (Deno 2) or `PermissionDenied`. */
function readFailure(src: URL | string, shipped: boolean, e: Error & { code?: string }): Error {
  const where = src instanceof URL ? src.pathname : src;
  let hint = e.message;
  if (e.name === 'NotCapable' || e.name === 'PermissionDenied' || e.code === 'ERR_ACCESS_DENIED') {
    hint = `no permission to read it (Deno: run with --allow-read, or pass the bytes or a compiled module: init({ wasm }) or init({ module })): ${e.message}`;
  } else if (e.code === 'ENOENT' && shipped) {
    hint = `the package's wasm file is missing (reinstall the package; a source checkout builds it with \`npm run build\`): ${e.message}`;
  }
  return new Error(`wasmcnn: cannot read the wasm build at ${where}: ${hint}`);
}

export const nodePlatform: Platform = {
  async read(src, shipped) {
    const file = toFileTarget(src);
    if (file === null) {
      const res = await fetch(src);
      if (!res.ok) throw new Error(`wasmcnn: fetching the wasm build from ${String(src)} failed: HTTP ${res.status}`);
      return await res.arrayBuffer();
    }
    const fs = await import('node:fs/promises');
    try {
      return await fs.readFile(file);
    } catch (e) {
      throw readFailure(src, shipped, e as Error);
    }
  },
  async cores() {
    const os = await import('node:os');
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  },
  async pool() {
    if (await hasNodeWorkers()) return startNodeWorkers;
    return hasWebWorkers() ? startWebWorkers : null;
  },
  startHost: startHostWorker,
};
