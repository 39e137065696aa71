// Runs Cloudflare workerd (npm `workerd`) over a set of modules, for test/workerd.test.ts and the packed
// package's workerd test: writes a config whose modules embed the given files, starts `workerd serve` on a
// free loopback port and resolves once it answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

/** A module of the worker: its name (how imports name it), its kind, and the file it embeds. */
export interface WorkerdModule {
  name: string;
  kind: 'esModule' | 'wasm';
  file: string;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** Serves a module worker (the first module is its entry); `close()` stops workerd and removes its config. */
export async function serveWorkerd(modules: WorkerdModule[]): Promise<{ url: string; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcnn-workerd-'));
  const port = await freePort();
  const config = join(dir, 'config.capnp');
  // Embed paths are relative to the config's own directory.
  const mods = modules.map((m) => `(name = "${m.name}", ${m.kind} = embed "${relative(dir, m.file)}")`);
  writeFileSync(
    config,
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
  const proc: ChildProcess = spawn(join(ROOT, 'node_modules/.bin/workerd'), ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const close = () => {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}/health`);
      return { url, close };
    } catch {
      if (i > 100 || proc.exitCode !== null) {
        close();
        throw new Error(`workerd did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
