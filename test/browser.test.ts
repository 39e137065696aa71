// Headless Debian Chromium (driven by playwright-core) trains the same fixture as Node: with COOP/COEP the
// threaded build runs in a dedicated worker; without them, or with init() on the page's main thread, it falls
// back to the single-threaded build; spawn() from the page puts the engine in a dedicated worker itself. The
// weights must be bitwise the ones Node computes with the same build (Node runs the relaxed builds here
// because vitest passes --experimental-wasm-relaxed-simd).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init } from '../ts/src/index.js';
// @ts-expect-error: plain JS module shared with the browser pages
import { trainFixture } from './browser/train-fixture.js';
import { launchChromium } from './browser/chromium.js';
import { serve } from './browser/server.js';

type Result = { ok: boolean; error?: string; info?: { build: string; threads: number; reason: string }; hex?: string; where?: string; batches?: number };
type Opts = { threads: number; relaxedSimd?: boolean };
const PLAIN = { threads: 2, relaxedSimd: false };

describe('browser (headless Chromium)', () => {
  let browser: Browser;
  let servers: { url: string; close: () => Promise<void> }[] = [];
  let nodeHex: string;
  let nodeRelaxedHex: string;

  beforeAll(async () => {
    nodeHex = ((await trainFixture(init, PLAIN)) as Result).hex!;
    nodeRelaxedHex = ((await trainFixture(init, { threads: 2, relaxedSimd: true })) as Result).hex!;
    servers = [await serve(true), await serve(false)];
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  async function open(isolated: boolean): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${servers[isolated ? 0 : 1].url}/test/browser/page.html`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    return page;
  }

  it('cross-origin isolated: the threaded build trains in a dedicated worker, same bits as Node', async () => {
    const page = await open(true);
    expect(await page.evaluate(() => (window as unknown as { crossOriginIsolatedNow(): boolean }).crossOriginIsolatedNow())).toBe(true);
    const r: Result = await page.evaluate((o) => (window as unknown as { inWorker(o: Opts): Promise<Result> }).inWorker(o), PLAIN);
    expect(r.error).toBeUndefined();
    expect(r.info).toMatchObject({ build: 'simd-threads', threads: 2 });
    expect(r.hex).toBe(nodeHex);
    // The page's own main thread may not block: there the same call falls back, and still trains.
    const m: Result = await page.evaluate((o) => (window as unknown as { onMain(o: Opts): Promise<Result> }).onMain(o), PLAIN);
    expect(m.info).toMatchObject({ build: 'simd', threads: 1 });
    expect(m.info!.reason).toMatch(/may not block/);
    expect(m.hex).toBe(nodeHex);
    // spawn() from the main thread: the engine goes to a dedicated worker, the page awaits the same API.
    const s: Result = await page.evaluate((o) => (window as unknown as { spawned(o: Opts): Promise<Result> }).spawned(o), PLAIN);
    expect(s.error).toBeUndefined();
    expect(s).toMatchObject({ where: 'worker', batches: 3, info: { build: 'simd-threads', threads: 2 } });
    expect(s.hex).toBe(nodeHex);
  }, 120_000);

  it('without COOP/COEP: falls back to the single-threaded build, says why, same bits', async () => {
    const page = await open(false);
    const r: Result = await page.evaluate((o) => (window as unknown as { inWorker(o: Opts): Promise<Result> }).inWorker(o), PLAIN);
    expect(r.error).toBeUndefined();
    expect(r.info).toMatchObject({ build: 'simd', threads: 1 });
    expect(r.info!.reason).toMatch(/SharedArrayBuffer is not available|cross-origin isolated/);
    expect(r.hex).toBe(nodeHex);
    const s: Result = await page.evaluate((o) => (window as unknown as { spawned(o: Opts): Promise<Result> }).spawned(o), PLAIN);
    expect(s.error).toBeUndefined();
    expect(s).toMatchObject({ where: 'worker', batches: 3, info: { build: 'simd', threads: 1 } });
    expect(s.hex).toBe(nodeHex);
  }, 120_000);

  it('relaxed SIMD: Chromium picks the relaxed threaded build by its probe; same bits as Node on that build', async () => {
    const page = await open(true);
    const r: Result = await page.evaluate((o) => (window as unknown as { inWorker(o: Opts): Promise<Result> }).inWorker(o), { threads: 2 });
    expect(r.error).toBeUndefined();
    expect(r.info).toMatchObject({ build: 'relaxed-simd-threads', threads: 2 });
    // Same engine (V8), same CPU: the fused multiply-adds round alike.
    expect(r.hex).toBe(nodeRelaxedHex);
    expect(r.hex).not.toBe(nodeHex);
  }, 120_000);
});
