// Cloudflare workerd (npm `workerd`, the open-source Workers runtime): the package build runs as a module
// worker with the precompiled single-threaded module (workerd forbids compiling wasm at run time) and trains
// to the same numbers as Node, through init() and through spawn()'s async API (in-process there: no Worker).
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWorkerd, type WorkerdModule } from './workerd/serve.js';

const ROOT = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);
type Result = { info: { build: string; threads: number }; loss: number[]; weights: number[]; error?: string };

/** The worker's modules: the worker, the simd build, wasm/builds.js and every file of ts/dist. */
function modules(): WorkerdModule[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.js')) files.push(relative(ROOT, p));
    }
  };
  walk(join(ROOT, 'ts/dist'));
  const es = (f: string): WorkerdModule => ({ name: f, kind: 'esModule', file: join(ROOT, f) });
  return [es('test/workerd/worker.js'), { name: 'wasm/wasmcnn-simd.wasm', kind: 'wasm', file: join(ROOT, 'wasm/wasmcnn-simd.wasm') }, es('wasm/builds.js'), ...files.map(es)];
}

describe('Cloudflare workerd', () => {
  let url: string;
  let close: (() => void) | undefined;
  let node: Result;

  beforeAll(async () => {
    const smoke = new URL('./fixtures/runtime-smoke.mjs', import.meta.url).pathname;
    node = JSON.parse((await run(process.execPath, [smoke, '1', 'plain'])).stdout.trim().split('\n').pop()!) as Result;
    ({ url, close } = await serveWorkerd(modules()));
  }, 60_000);

  afterAll(() => close?.());

  for (const api of ['init', 'spawn'] as const) {
    it(`${api}(): the simd build trains to Node's numbers`, async () => {
      const r = (await (await fetch(`${url}/?api=${api}`)).json()) as Result;
      expect(r.error).toBeUndefined();
      expect(r.info).toMatchObject({ build: 'simd', threads: 1 });
      expect(r.loss).toEqual(node.loss);
      expect(r.weights).toEqual(node.weights);
    }, 60_000);
  }
});
