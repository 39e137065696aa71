// Cloudflare workerd (npm `workerd`, the open-source Workers runtime): the package build runs as a module
// worker with the precompiled single-threaded module (workerd forbids compiling wasm at run time) and trains
// to the same numbers as Node, through init() and through spawn()'s async API (in-process there: no Worker).
import { execFile, spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const run = promisify(execFile);
type Result = { info: { build: string; threads: number }; loss: number[]; weights: number[]; error?: string };

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** A workerd config whose modules are the worker, the simd build, wasm/builds.js and every file of ts/dist (embed paths
 *  are relative to the config's own directory). */
function writeConfig(dir: string, port: number): string {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.js')) files.push(relative(ROOT, p));
    }
  };
  walk(join(ROOT, 'ts/dist'));
  const embed = (f: string) => relative(dir, join(ROOT, f));
  const mods = [
    `(name = "test/workerd/worker.js", esModule = embed "${embed('test/workerd/worker.js')}")`,
    `(name = "wasm/wasmcnn-simd.wasm", wasm = embed "${embed('wasm/wasmcnn-simd.wasm')}")`,
    `(name = "wasm/builds.js", esModule = embed "${embed('wasm/builds.js')}")`,
    ...files.map((f) => `(name = "${f}", esModule = embed "${embed(f)}")`),
  ];
  const path = join(dir, 'config.capnp');
  writeFileSync(
    path,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ ${mods.join(',\n    ')} ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
);
`,
  );
  return path;
}

describe('Cloudflare workerd', () => {
  let proc: ChildProcess;
  let dir: string;
  let url: string;
  let node: Result;

  beforeAll(async () => {
    const smoke = new URL('./fixtures/runtime-smoke.mjs', import.meta.url).pathname;
    node = JSON.parse((await run(process.execPath, [smoke, '1', 'plain'])).stdout.trim().split('\n').pop()!) as Result;
    dir = mkdtempSync(join(tmpdir(), 'wasmcnn-workerd-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    proc = spawnProcess(join(ROOT, 'node_modules/.bin/workerd'), ['serve', writeConfig(dir, port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    for (let i = 0; ; i++) {
      try {
        await fetch(`${url}/health`);
        break;
      } catch {
        if (i > 100 || proc.exitCode !== null) throw new Error(`workerd did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }, 60_000);

  afterAll(() => {
    proc?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

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
