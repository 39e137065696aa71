// A RemoteEngine's failure paths (issue 11, items 5 and 6): terminate() ends a busy or stuck worker within a
// bounded time and rejects every pending call; a call whose arguments cannot be cloned rejects with a
// TypeError naming the value and leaves nothing pending; after each failure the Node process exits by itself.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
// The built package: a Node worker loads its host script natively from ts/dist (scripts/setup.sh builds it).
const dist = (): Promise<typeof import('../ts/src/index.js')> => import('../ts/dist/index.js' as string);
const script = new URL('./fixtures/remote-fault.ts', import.meta.url).pathname;

/** A CIFAR-sized model and data that take minutes to fit without callbacks on this machine. */
const BIG = {
  spec: {
    inputShape: [3, 32, 32],
    layers: [
      { type: 'conv2d', filters: 32, kernelSize: 3, padding: 1 }, { type: 'relu' }, { type: 'conv2d', filters: 32, kernelSize: 3, padding: 1 },
      { type: 'relu' }, { type: 'maxPool2d', poolSize: 2 }, { type: 'flatten' }, { type: 'dense', units: 10 },
    ] as const,
    seed: 1,
  },
  x: new Float32Array(256 * 3 * 32 * 32).map((_, i) => Math.sin(i)),
  y: Array.from({ length: 256 }, (_, i) => i % 10),
};

/** CPU milliseconds this process (all its threads) spends over `ms` of wall time. */
async function cpuOver(ms: number): Promise<number> {
  const start = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

describe('RemoteEngine failure paths', () => {
  it('terminate() during a callback-free fit rejects every pending call within 2 s and stops the work', async () => {
    const e = await (await dist()).spawn({ where: 'worker', threads: 2 });
    const m = await e.sequential(BIG.spec);
    const t0 = performance.now();
    const settled = (p: Promise<unknown>) => p.then(() => 'resolved', (err: Error) => ({ message: err.message, ms: performance.now() - t0 }));
    const fit = settled(m.fit(BIG.x, BIG.y, { epochs: 100, batchSize: 64 }));
    const queued = settled(m.getWeights()); // waits behind the fit in the worker
    await new Promise((r) => setTimeout(r, 500));
    expect(await cpuOver(300)).toBeGreaterThan(60); // the fit is running (up to 600 ms on two threads)
    await e.terminate();
    const tEnd = performance.now() - t0;
    for (const r of [await fit, await queued]) {
      expect(r).toMatchObject({ message: expect.stringMatching(/terminated .*while this call was running/) });
      expect((r as { ms: number }).ms).toBeLessThan(2500); // 500 ms before terminate(), then < 2 s
    }
    expect(tEnd).toBeLessThan(2500);
    expect(await cpuOver(500)).toBeLessThan(60); // the worker and its pool no longer compute (a live fit: up to 1000 ms)
    await expect(m.getWeights()).rejects.toThrow(/terminated/);
    await expect(e.sequential(BIG.spec)).rejects.toThrow(/terminated/);
  }, 60_000);

  it('a function in the options: a TypeError naming it, and nothing stays pending', async () => {
    const e = await (await dist()).spawn({ where: 'worker', threads: 1 });
    const m = await e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 3 }] });
    const fit = m.fit(new Float32Array(8), [0, 1], { schedule: { type: 'step', stepSize: 1, gamma: (() => 0.5) as unknown as number } });
    await expect(fit).rejects.toThrow(TypeError);
    await expect(fit).rejects.toThrow(/fit: argument 3's schedule\.gamma is a function, which cannot be sent to the engine's worker/);
    // The engine is still usable.
    expect(Object.keys(await m.getWeights())).toEqual(['0.weight', '0.bias']);
    await e.terminate();
  });

  const paths: [string, RegExp | null][] = [
    ['clone', /schedule\.gamma is a function/],
    ['bad-spec', /units must be in/],
    ['callback-throws', /stop here/],
    ['stuck-callback', /terminated .*while this call was running/],
    ['after-terminate', /terminated/],
    ['init-fails', /cannot read the wasm build at \/nonexistent\/wasmcnn\.wasm/],
  ];
  for (const [path, message] of paths) {
    it(`the Node process exits on its own after: ${path}`, async () => {
      const t0 = performance.now();
      const { stdout } = await run(process.execPath, ['--import', 'tsx', script, path], { timeout: 20_000 });
      expect(JSON.parse(stdout.trim())).toMatchObject({ ok: false, message: expect.stringMatching(message!) });
      expect(performance.now() - t0).toBeLessThan(20_000);
    }, 30_000);
  }
});
