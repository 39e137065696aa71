// wasmcnn's entry for browsers, web workers and workerd (the package's "browser", "worker" and "default"
// conditions): the same API as index.ts, over fetch and Web Workers; nothing here imports `node:*`.
import { Engine } from './runtime/engine.js';
import { load, type InitOptions } from './runtime/load.js';
import { webPlatform } from './runtime/platform-web.js';
import { spawnOn, type RemoteEngine, type SpawnOptions } from './remote/engine.js';
import { searchWith, type SearchOptions, type SearchResult } from './train/search.js';

/** Loads and instantiates the wasm core; every model, optimizer and buffer lives in the returned engine. */
export async function init(opts: InitOptions = {}): Promise<Engine> {
  return new Engine(await load(webPlatform, opts));
}

/**
 * The engine behind a fully async API, in a dedicated worker where this thread may not block (a page's main
 * thread; see SpawnOptions.where); resolves when its build is loaded and its threads run.
 */
export function spawn(opts: SpawnOptions = {}): Promise<RemoteEngine> {
  return spawnOn(webPlatform, opts);
}

/** Hyperparameter search over engines started with this entry's `spawn` (see SearchOptions). */
export function search(opts: SearchOptions): Promise<SearchResult> {
  return searchWith(spawn, opts);
}

export * from './api.js';
