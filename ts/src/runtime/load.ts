// Loading: picks the build by capability checks (never by platform name), compiles and instantiates it,
// starts the worker threads for the threaded build, and checks the exports. What differs per runtime (reading
// bytes, cores, workers) comes in as a Platform from the package's entry.
import { buildUrl } from '../../../wasm/builds.js';
import { REQUIRED_EXPORTS, type WasmExports } from './exports.js';
import { canBlock, hasRelaxedSimd, hasSimd128, threadsUnavailable } from './features.js';
import type { Platform, StartPool } from './platform.js';
import type { ThreadExports, WorkerPool } from './pool.js';

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
  module?: WasmModule;
  /**
   * The wasm bytes, or where to get them (a URL, or a path in Node, Deno and Bun); defaults to the build
   * shipped in the package's `wasm/`, picked by capability.
   */
  wasm?: ArrayBuffer | ArrayBufferView | GlobalURL | string;
}

// The public types name WebAssembly.Module and URL only where the consumer's libs declare them (DOM, or
// @types/node), so that they compile without the DOM lib and never degrade to `any`.
/** A compiled `WebAssembly.Module` (any object where no lib declares WebAssembly). */
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: abstract new (...args: never) => infer M } } ? M : object;
/** The global `URL` (never where no lib declares it). */
export type GlobalURL = typeof globalThis extends { URL: abstract new (...args: never) => infer U } ? U : never;

/** Initial pages of the threaded build's shared memory: its `--initial-memory` (32 MiB); maximum 2 GiB. */
const SHARED_INITIAL_PAGES = 512;
const SHARED_MAX_PAGES = 32768;

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
  platform: Platform,
  opts: InitOptions,
  given: WebAssembly.Module | undefined,
): Promise<{ threads: number; reason: string; start?: StartPool }> {
  const want = opts.threads ?? 'auto';
  if (want !== 'auto' && !(Number.isInteger(want) && want >= 1 && want <= 256)) {
    throw new RangeError(`init: threads must be 'auto' or an integer in [1, 256], got ${String(want)}`);
  }
  const cores = await platform.cores();
  const n = want === 'auto' ? cores : want;
  if (given && !isThreadedModule(given)) return { threads: 1, reason: 'the given module is the single-threaded build' };
  if (n === 1) return { threads: 1, reason: want === 'auto' ? 'one core available' : 'threads: 1 requested' };
  const why = threadsUnavailable();
  if (why) return { threads: 1, reason: `${why}; using the single-threaded build` };
  if (!canBlock()) {
    return { threads: 1, reason: 'this thread may not block (a page\'s main thread): use spawn(), which runs the engine in a dedicated worker, for threads; using the single-threaded build' };
  }
  const start = await platform.pool();
  if (start === null) return { threads: 1, reason: 'no Worker implementation here; using the single-threaded build' };
  return { threads: n, start, reason: `${n} worker threads (${want === 'auto' ? `${cores} cores reported` : 'requested'})` };
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

/** Bytes read from `src` must be a wasm module: a server answering a missing file with a page says so here. */
function checkMagic(bytes: ArrayBuffer | ArrayBufferView, src: URL | string): void {
  const b = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  if (b.length >= 4 && b[0] === 0 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d) return;
  const start = new TextDecoder().decode(b.subarray(0, 40)).replace(/\s+/g, ' ');
  throw new Error(
    `wasmcnn: ${String(src)} is not a wasm module (it starts with ${JSON.stringify(start)}): the server did not serve the ` +
      "package's wasm file there (see the README's \"Install and use\" for your bundler)",
  );
}

function isThreadedModule(m: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(m).some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory');
}

export async function load(platform: Platform, opts: InitOptions = {}): Promise<Loaded> {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`init: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  if (!hasSimd128()) {
    throw new Error('wasmcnn: this runtime does not support WebAssembly SIMD128, which every wasmcnn build needs');
  }
  const compile = async (src: ArrayBuffer | ArrayBufferView | URL | string, shipped = false) => {
    if (!(src instanceof URL || typeof src === 'string')) return WebAssembly.compile(src as BufferSource);
    const bytes = await platform.read(src, shipped);
    checkMagic(bytes, src);
    return WebAssembly.compile(bytes as BufferSource);
  };
  // A build the caller chose decides itself; otherwise the plan picks one.
  let module = (opts.module as WebAssembly.Module | undefined) ?? (opts.wasm !== undefined ? await compile(opts.wasm as ArrayBuffer | URL | string) : undefined);
  const plan = await planThreads(platform, opts, module);
  const relaxed = planRelaxed(opts);
  const threaded = plan.threads > 1;
  module ??= await compile(buildUrl(buildName(relaxed.use, threaded)), true);
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
  const pool = memory && plan.start ? await plan.start(module, memory, exports as ThreadExports, plan.threads) : null;
  return { exports, build, threads: pool?.threads ?? 1, reason, pool };
}
