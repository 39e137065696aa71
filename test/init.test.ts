// Loading: the default build from disk, given bytes, a precompiled module (workerd needs that), bad sources.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { init } from '../ts/src/index.js';
import { RELAXED, SINGLE_BUILD } from './helpers.js';

const wasmUrl = new URL('../wasm/wasmcnn-simd.wasm', import.meta.url);

describe('init', () => {
  it('loads the single-threaded build for threads: 1 and reports what runs', async () => {
    const e = await init({ threads: 1 });
    expect(e.info()).toMatchObject({ build: SINGLE_BUILD, threads: 1, simd: true, relaxedSimd: RELAXED });
    expect(e.info().reason).toMatch(/threads: 1 requested/);
    const plain = await init({ threads: 1, relaxedSimd: false });
    expect(plain.info()).toMatchObject({ build: 'simd', relaxedSimd: false });
    expect(plain.info().reason).toMatch(/relaxed SIMD off \(relaxedSimd: false\)/);
  });

  it('relaxed SIMD: used where the probe validates, refused with a reason where it does not', async () => {
    expect(RELAXED, 'vitest runs Node 20 with --experimental-wasm-relaxed-simd').toBe(true);
    const r = await init({ threads: 1, relaxedSimd: true });
    expect(r.info()).toMatchObject({ build: 'relaxed-simd', relaxedSimd: true });
    // A runtime without relaxed SIMD: its validate rejects the relaxed probe (the only 82-byte module here).
    const validate = WebAssembly.validate;
    WebAssembly.validate = (b: BufferSource) => (b.byteLength === 82 ? false : validate(b));
    try {
      const e = await init({ threads: 1 });
      expect(e.info()).toMatchObject({ build: 'simd', relaxedSimd: false });
      expect(e.info().reason).toMatch(/relaxed SIMD not supported by this runtime/);
      await expect(init({ threads: 1, relaxedSimd: true })).rejects.toThrow(/relaxedSimd: true, but this runtime does not support WebAssembly relaxed SIMD/);
    } finally {
      WebAssembly.validate = validate;
    }
    // @ts-expect-error: not an accepted value
    await expect(init({ relaxedSimd: 'yes' })).rejects.toThrow(/relaxedSimd must be 'auto', true or false, got yes/);
  });

  it('a given module reports whether it is a relaxed build', async () => {
    const e = await init({ wasm: new URL('../wasm/wasmcnn-relaxed-simd.wasm', import.meta.url) });
    expect(e.info()).toMatchObject({ build: 'relaxed-simd', relaxedSimd: true });
    expect(e.info().reason).toMatch(/the given module uses relaxed SIMD/);
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
