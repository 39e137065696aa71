// Loading: the default build from disk, given bytes, a precompiled module (workerd needs that), bad sources.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { init } from '../ts/src/index.js';

const wasmUrl = new URL('../wasm/wasmcnn-simd.wasm', import.meta.url);

describe('init', () => {
  it('loads the single-threaded build for threads: 1 and reports what runs', async () => {
    const e = await init({ threads: 1 });
    expect(e.info()).toMatchObject({ build: 'simd', threads: 1, simd: true, relaxedSimd: false });
    expect(e.info().reason).toMatch(/threads: 1 requested/);
  });

  it('accepts a precompiled WebAssembly.Module, raw bytes, or a path', async () => {
    const bytes = readFileSync(wasmUrl);
    const module = await WebAssembly.compile(bytes);
    for (const e of [await init({ module }), await init({ wasm: bytes }), await init({ wasm: wasmUrl.pathname }), await init({ wasm: wasmUrl })]) {
      using t = e.tensor([1, -2, 3]);
      expect(Array.from(t.read())).toEqual([1, -2, 3]);
      // Separate instances: separate memories.
      expect(e.liveBytes()).toBeGreaterThan(0);
    }
  });

  it('names a missing build and a module that is not ours', async () => {
    await expect(init({ wasm: '/nonexistent/wasmcnn.wasm' })).rejects.toThrow(/cannot read the wasm build at \/nonexistent\/wasmcnn.wasm/);
    const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]); // a valid, empty module
    await expect(init({ wasm: empty })).rejects.toThrow(/lacks exports memory, wcnn_alloc/);
  });
});
