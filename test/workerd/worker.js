// Cloudflare workerd module worker for test/workerd.test.ts: the package's browser entry (ts/dist) with the
// precompiled single-threaded module (workerd forbids compiling wasm at run time), training the same small
// model as test/fixtures/runtime-smoke.mjs. GET / answers with its engine info, losses and weights.
import { init, spawn } from '../../ts/dist/index.browser.js';
import simd from '../../wasm/wasmcnn-simd.wasm';

const spec = { inputShape: [1, 8, 8], layers: [{ type: 'conv2d', filters: 4, kernelSize: 3 }, { type: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 3 }], seed: 1 };

export default {
  async fetch(request) {
    try {
      const local = new URL(request.url).searchParams.get('api') === 'spawn';
      const e = local ? await spawn({ module: simd, where: 'local' }) : await init({ module: simd });
      const m = await e.sequential(spec);
      const x = new Float32Array(32 * 64).map((_, i) => ((i * 7) % 13) / 13);
      const y = Array.from({ length: 32 }, (_, i) => i % 3);
      const h = await m.fit(x, y, { epochs: 3, batchSize: 8 });
      const w = Object.values(await m.getWeights()).flatMap((a) => Array.from(a));
      const info = e.info();
      await m.dispose();
      await e.terminate();
      return Response.json({ info, loss: h.epochs.map((q) => q.loss), weights: w });
    } catch (err) {
      return Response.json({ error: String(err && err.stack || err) }, { status: 500 });
    }
  },
};
