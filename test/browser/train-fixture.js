// A deterministic little training run shared by the browser page/worker and the Node side of
// test/browser.test.ts: same data, model and seed everywhere, so the weights' bits must match.
export const LAYERS = [
  { type: 'conv2d', filters: 8, kernelSize: 3, padding: 1 },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'conv2d', filters: 16, kernelSize: 3 },
  { type: 'relu' },
  { type: 'flatten' },
  { type: 'dense', units: 10 },
];

/** Trains 3 steps of batch 32 on synthetic 1×12×12 digits; returns engine info, the loss and the weights as hex.
 *  `opts` goes to init(): { threads, relaxedSimd }. */
export async function trainFixture(init, opts) {
  const engine = await init(opts);
  const n = 96;
  const x = new Float32Array(n * 144);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 500 - 1; // integer math: exact everywhere
  const y = Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const model = engine.sequential({ inputShape: [1, 12, 12], layers: LAYERS, seed: 11, init: 'glorot' });
  const h = await model.fit(x, y, { epochs: 1, batchSize: 32, seed: 5, optimizer: { type: 'adam', lr: 1e-2, amsgrad: true } });
  const loss = h.epochs[0].loss;
  const w = model.getWeights();
  const hex = Object.values(w)
    .map((a) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), (b) => b.toString(16).padStart(2, '0')).join(''))
    .join('|');
  const info = engine.info();
  model.dispose();
  await engine.terminate();
  return { info, loss, hex };
}

/** The same run through the async API (`spawn()`): the engine in a dedicated worker or in this thread.
 *  Also counts the batch callbacks, which run on the caller's side. */
export async function trainFixtureRemote(spawn, opts) {
  const engine = await spawn(opts);
  const n = 96;
  const x = new Float32Array(n * 144);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 500 - 1;
  const y = Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const model = await engine.sequential({ inputShape: [1, 12, 12], layers: LAYERS, seed: 11, init: 'glorot' });
  let batches = 0;
  const h = await model.fit(x, y, {
    epochs: 1, batchSize: 32, seed: 5, optimizer: { type: 'adam', lr: 1e-2, amsgrad: true },
    callbacks: { onBatchEnd: async () => { await new Promise((r) => setTimeout(r, 1)); batches++; } },
  });
  const w = await model.getWeights();
  const hex = Object.values(w)
    .map((a) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), (b) => b.toString(16).padStart(2, '0')).join(''))
    .join('|');
  const info = engine.info();
  const where = engine.where;
  await model.dispose();
  await engine.terminate();
  return { info, loss: h.epochs[0].loss, hex, where, batches };
}
