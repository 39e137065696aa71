// Loading: finds the wasm build, compiles and instantiates it, and checks its exports.
import { REQUIRED_EXPORTS, type WasmExports } from './exports.js';
import { hasSimd128 } from './features.js';

export type BuildName = 'simd';

export interface InitOptions {
  /** A precompiled module (for runtimes that forbid compiling at run time, e.g. Cloudflare workerd). */
  module?: WebAssembly.Module;
  /** The wasm bytes, or where to get them (a URL or path); defaults to the build shipped in `wasm/`. */
  wasm?: BufferSource | URL | string;
}

/** The build shipped with the package, next to ts/ (same relative path from ts/src and ts/dist). */
export function defaultWasmUrl(build: BuildName): URL {
  return new URL(`../../../wasm/wasmcnn-${build}.wasm`, import.meta.url);
}

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

export interface Loaded {
  exports: WasmExports;
  build: BuildName;
  reason: string;
}

export async function load(opts: InitOptions = {}): Promise<Loaded> {
  if (!hasSimd128()) {
    throw new Error('wasmcnn: this runtime does not support WebAssembly SIMD128, which every wasmcnn build needs');
  }
  const build: BuildName = 'simd';
  let module = opts.module;
  if (!module) {
    const src = opts.wasm ?? defaultWasmUrl(build);
    const bytes = src instanceof URL || typeof src === 'string' ? await readBytes(src) : src;
    module = await WebAssembly.compile(bytes);
  }
  const instance = await WebAssembly.instantiate(module, {});
  const ex = instance.exports as Record<string, unknown>;
  const missing = REQUIRED_EXPORTS.filter((k) => !(k in ex));
  if (missing.length) throw new Error(`wasmcnn: the wasm module lacks exports ${missing.join(', ')} (stale build?)`);
  return { exports: ex as unknown as WasmExports, build, reason: 'single-threaded SIMD128 build (threads come later)' };
}
