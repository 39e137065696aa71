// wasmcnn: CNN training on the CPU anywhere JavaScript runs. This is the entry for Node, Deno and Bun (the
// package's "node" and "deno" conditions); browsers get index.browser.ts, which never imports `node:*`.
//
//   const engine = await init();
//   const model = engine.sequential({ inputShape: [1, 28, 28], layers: [...], seed: 1 });
//   await model.fit(x, y, { epochs: 3, batchSize: 64, optimizer: { type: 'adam', lr: 1e-3 } });
import { Engine } from './runtime/engine.js';
import { load, type InitOptions } from './runtime/load.js';
import { nodePlatform } from './runtime/platform-node.js';
import { spawnOn, type RemoteEngine, type SpawnOptions } from './remote/engine.js';
import { searchWith, type SearchOptions, type SearchResult } from './train/search.js';

/** Loads and instantiates the wasm core; every model, optimizer and buffer lives in the returned engine. */
export async function init(opts: InitOptions = {}): Promise<Engine> {
  return new Engine(await load(nodePlatform, opts));
}

/**
 * The engine behind a fully async API, in a dedicated worker where this thread may not block (see
 * SpawnOptions.where); resolves when its build is loaded and its threads run.
 */
export function spawn(opts: SpawnOptions = {}): Promise<RemoteEngine> {
  return spawnOn(nodePlatform, opts);
}

/** Hyperparameter search over engines started with this entry's `spawn` (see SearchOptions). */
export function search(opts: SearchOptions): Promise<SearchResult> {
  return searchWith(spawn, opts);
}

export * from './api.js';
