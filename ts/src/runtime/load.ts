// Loading: picks the build by capability checks (never by platform name), compiles and instantiates it,
// starts the worker threads for the threaded build, and checks the exports.
import { REQUIRED_EXPORTS, type WasmExports } from './exports.js';
import { availableCores, canBlock, hasRelaxedSimd, hasSimd128, threadsUnavailable } from './features.js';
import { startNodeWorkers, type ThreadExports, type WorkerPool } from './workers-node.js';
import { hasWebWorkers, startWebWorkers } from './workers-web.js';

export type BuildName = 'simd' | 'simd-threads' | 'relaxed-simd' | 'relaxed-simd-threads';

export interface InitOptions {
  /**
   * Worker threads for the kernels: 'auto' (default) uses every core the runtime reports, a number forces
   * a count, 1 means the single-threaded build. Falls back to 1 (and says why in `engine.info()`) where
   * threads cannot run.
   */
  threads?: 'auto' | number;
  /**
   * Relaxed SIMD (fused multiply-add in the GEMM microkernel, faster; last bits differ from the other builds):
   * 'auto' (default) uses it where `WebAssembly.validate` accepts it, `false` never, `true` requires it.
   */
  relaxedSimd?: 'auto' | boolean;
  /** A precompiled module (for runtimes that forbid compiling at run time, e.g. Cloudflare workerd). */
  module?: WebAssembly.Module;
  /** The wasm bytes, or where to get them (a URL or path); defaults to the build shipped in `wasm/`. */
  wasm?: BufferSource | URL | string;
}

/** The builds shipped with the package, next to ts/ (same relative path from ts/src and ts/dist). */
export function defaultWasmUrl(build: BuildName): URL {
  return new URL(`../../../wasm/wasmcnn-${build}.wasm`, import.meta.url);
}

/** Initial pages of the threaded build's shared memory: its `--initial-memory` (32 MiB); maximum 2 GiB. */
const SHARED_INITIAL_PAGES = 512;
const SHARED_MAX_PAGES = 32768;

async function readBytes(src: URL | string): Promise<BufferSource> {
  const url = typeof src === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(src) ? null : new URL(src);
  if (url === null || url.protocol === 'file:') {
    // A path or file: URL: read it from disk (node:fs works in Node, Deno and Bun).
    const fs = await import('node:fs/promises');
    try {
      return await fs.readFile(url ?? (src as string));
    } catch (e) {
      throw new Error(`wasmcnn: cannot read the wasm build at ${String(src)} (run \`npm run build\` first?): ${(e as Error).message}`);
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`wasmcnn: fetching the wasm build from ${url} failed: HTTP ${res.status}`);
  return await res.arrayBuffer();
}

async function hasNodeWorkers(): Promise<boolean> {
  try {
    await import('node:worker_threads');
    return true;
  } catch {
    return false;
  }
}

export interface Loaded {
  /** The raw exports (unguarded: the Engine wraps them). */
  exports: WasmExports;
  build: BuildName;
  threads: number;
  reason: string;
  pool: WorkerPool | null;
}

/** Decides how many threads to use and why. */
async function planThreads(
  opts: InitOptions,
  given: WebAssembly.Module | undefined,
): Promise<{ threads: number; reason: string; workers?: 'node' | 'web' }> {
  const want = opts.threads ?? 'auto';
  if (want !== 'auto' && !(Number.isInteger(want) && want >= 1 && want <= 256)) {
    throw new RangeError(`init: threads must be 'auto' or an integer in [1, 256], got ${String(want)}`);
  }
  const cores = await availableCores();
  const n = want === 'auto' ? cores : want;
  if (given && !isThreadedModule(given)) return { threads: 1, reason: 'the given module is the single-threaded build' };
  if (n === 1) return { threads: 1, reason: want === 'auto' ? 'one core available' : 'threads: 1 requested' };
  const why = threadsUnavailable();
  if (why) return { threads: 1, reason: `${why}; using the single-threaded build` };
  if (!canBlock()) {
    return { threads: 1, reason: 'this thread may not block (a page\'s main thread): use spawn(), which runs the engine in a dedicated worker, for threads; using the single-threaded build' };
  }
  const kind = (await hasNodeWorkers()) ? 'node' : hasWebWorkers() ? 'web' : null;
  if (kind === null) return { threads: 1, reason: 'no Worker implementation here; using the single-threaded build' };
  return { threads: n, workers: kind, reason: `${n} worker threads (${want === 'auto' ? `${cores} cores reported` : 'requested'})` };
}

function buildName(relaxed: boolean, threaded: boolean): BuildName {
  return `${relaxed ? 'relaxed-' : ''}simd${threaded ? '-threads' : ''}`;
}

/** Whether to load a relaxed-SIMD build, and why. */
function planRelaxed(opts: InitOptions): { use: boolean; reason: string } {
  const want = opts.relaxedSimd ?? 'auto';
  if (want !== 'auto' && typeof want !== 'boolean') {
    throw new RangeError(`init: relaxedSimd must be 'auto', true or false, got ${String(want)}`);
  }
  if (want === false) return { use: false, reason: 'relaxed SIMD off (relaxedSimd: false)' };
  if (hasRelaxedSimd()) return { use: true, reason: 'relaxed SIMD (fused multiply-add)' };
  if (want === true) {
    throw new Error('wasmcnn: relaxedSimd: true, but this runtime does not support WebAssembly relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)');
  }
  return { use: false, reason: 'relaxed SIMD not supported by this runtime' };
}

function isThreadedModule(m: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(m).some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory');
}

export async function load(opts: InitOptions = {}): Promise<Loaded> {
  if (!hasSimd128()) {
    throw new Error('wasmcnn: this runtime does not support WebAssembly SIMD128, which every wasmcnn build needs');
  }
  const compile = async (src: BufferSource | URL | string) =>
    WebAssembly.compile(src instanceof URL || typeof src === 'string' ? await readBytes(src) : src);
  // A build the caller chose decides itself; otherwise the plan picks one.
  let module = opts.module ?? (opts.wasm !== undefined ? await compile(opts.wasm) : undefined);
  const plan = await planThreads(opts, module);
  const relaxed = planRelaxed(opts);
  const threaded = plan.threads > 1;
  module ??= await compile(defaultWasmUrl(buildName(relaxed.use, threaded)));
  if (isThreadedModule(module) && !threaded) {
    throw new Error(`wasmcnn: the given wasm is the threaded build, but it cannot run threaded here (${plan.reason}); pass the single-threaded build`);
  }
  const memory = threaded ? new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: SHARED_MAX_PAGES, shared: true }) : null;
  const instance = await WebAssembly.instantiate(module, memory ? { env: { memory } } : {});
  const ex = { ...(instance.exports as Record<string, unknown>) };
  if (memory) ex.memory = memory;
  const missing = REQUIRED_EXPORTS.filter((k) => !(k in ex));
  if (missing.length) throw new Error(`wasmcnn: the wasm module lacks exports ${missing.join(', ')} (stale build?)`);
  const exports = ex as unknown as WasmExports;
  // The module says itself whether it is a relaxed build (a given module may be either).
  const isRelaxed = exports.wcnn_relaxed_simd() === 1;
  const build = buildName(isRelaxed, threaded);
  const reason = `${plan.reason}; ${opts.module || opts.wasm !== undefined ? `the given module ${isRelaxed ? 'uses' : 'does not use'} relaxed SIMD` : relaxed.reason}`;
  const start = plan.workers === 'web' ? startWebWorkers : startNodeWorkers;
  const pool = memory ? await start(module, memory, exports as ThreadExports, plan.threads) : null;
  return { exports, build, threads: pool?.threads ?? 1, reason, pool };
}
