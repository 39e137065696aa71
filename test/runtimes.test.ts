// The package build in the other JS runtimes that install from npm (Deno, Bun): the threaded build starts
// and stops there too, and training gives the same numbers as in Node. Each runtime's own probe picks
// relaxed SIMD or not (Deno and Bun: yes, Bun without fusing the multiply-adds; Node 20: only with --experimental-wasm-relaxed-simd). spawn()
// runs the engine in each runtime's own Worker (Web Workers in Deno and Bun, worker_threads in Node).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = new URL('./fixtures/runtime-smoke.mjs', import.meta.url).pathname;
const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

async function smoke(cmd: string, args: string[]) {
  const { stdout } = await run(cmd, args, { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { relaxedProbe: boolean; info: { build: string; threads: number }; where?: string; loss: number[]; weights: number[] };
}

describe('other runtimes', async () => {
  const node = await smoke(process.execPath, [script, '2', 'plain']);
  const nodeRelaxed = await smoke(process.execPath, ['--experimental-wasm-relaxed-simd', script, '2', 'auto']);
  const runtimes: [string, string, string[]][] = [
    ['node --experimental-wasm-relaxed-simd', process.execPath, ['--experimental-wasm-relaxed-simd', script]],
    ['deno', bin('deno'), ['run', '--allow-read', '--allow-env', script]],
    ['bun', bin('bun'), [script]],
  ];
  for (const [name, cmd, args] of runtimes) {
    for (const threads of [1, 2]) {
      it(`${name}, threads ${threads}: ${threads > 1 ? 'simd-threads' : 'simd'} build, same numbers as Node, exits`, async () => {
        const r = await smoke(cmd, [...args, String(threads), 'plain']);
        expect(r.info).toMatchObject({ build: threads > 1 ? 'simd-threads' : 'simd', threads });
        expect(r.loss).toEqual(node.loss);
        expect(r.weights).toEqual(node.weights);
      }, 90_000);
    }
    it(`${name}: spawn() puts the engine in the runtime's dedicated Worker; threaded, same numbers, exits`, async () => {
      const r = await smoke(cmd, [...args, '2', 'spawn']);
      expect(r).toMatchObject({ where: 'worker', info: { build: 'simd-threads', threads: 2 } });
      expect(r.loss).toEqual(node.loss);
      expect(r.weights).toEqual(node.weights);
    }, 90_000);
    it(`${name}: 'auto' picks relaxed SIMD exactly when the runtime's probe accepts it`, async () => {
      const r = await smoke(cmd, [...args, '2', 'auto']);
      expect(r.info).toMatchObject({ build: r.relaxedProbe ? 'relaxed-simd-threads' : 'simd-threads', threads: 2 });
      // The relaxed-SIMD spec lets an engine fuse f32x4.relaxed_madd or not: V8 (Node, Deno) fuses, JSC (Bun)
      // does a multiply then an add. Either way the bits are exactly one of the two Node results.
      if (!r.relaxedProbe) expect(r.weights).toEqual(node.weights);
      else expect([node.weights, nodeRelaxed.weights]).toContainEqual(r.weights);
    }, 90_000);
  }
  it('Node with the flag runs the relaxed build, and its numbers differ from plain SIMD only in rounding', () => {
    expect(nodeRelaxed.info.build).toBe('relaxed-simd-threads');
    expect(nodeRelaxed.weights).not.toEqual(node.weights);
    // Three epochs of Adam on a tiny model: fused vs separate rounding stays below 1e-4 relative (floor 1e-2).
    nodeRelaxed.weights.forEach((w, i) => expect(Math.abs(w - node.weights[i])).toBeLessThanOrEqual(1e-4 * Math.max(Math.abs(node.weights[i]), 1e-2)));
  });
});
