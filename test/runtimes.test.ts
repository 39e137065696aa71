// The package build in the other JS runtimes that install from npm (Deno, Bun): the threaded build starts
// and stops there too, and training gives the same numbers as in Node.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = new URL('./fixtures/runtime-smoke.mjs', import.meta.url).pathname;
const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

async function smoke(cmd: string, args: string[]) {
  const { stdout } = await run(cmd, args, { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { info: { build: string; threads: number }; loss: number[]; weights: number[] };
}

describe('other runtimes', async () => {
  const node = await smoke(process.execPath, [script, '2']);
  const runtimes: [string, string, string[]][] = [
    ['deno', bin('deno'), ['run', '--allow-read', '--allow-env', script]],
    ['bun', bin('bun'), [script]],
  ];
  for (const [name, cmd, args] of runtimes) {
    for (const threads of [1, 2]) {
      it(`${name}, threads ${threads}: ${threads > 1 ? 'simd-threads' : 'simd'} build, same numbers as Node, exits`, async () => {
        const r = await smoke(cmd, [...args, String(threads)]);
        expect(r.info).toMatchObject({ build: threads > 1 ? 'simd-threads' : 'simd', threads });
        expect(r.loss).toEqual(node.loss);
        expect(r.weights).toEqual(node.weights);
      }, 90_000);
    }
  }
});
