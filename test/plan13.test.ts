// The plan's issue-13 machinery: fusions give the unfused bits, eval folding of conv → BN (→ ReLU) stays
// within 1e-5 of the unfolded eval forward (groups and depthwise included) and follows weight changes,
// training is bitwise the same on 1 and 2 threads, dropout's masks are the same in every build, and every
// refusal names the layer's path.
import { describe, expect, it } from 'vitest';
import { init, type Engine, type LayerSpec } from '../ts/src/index.js';
import { OpFlags, WasmOp } from '../ts/src/runtime/op.js';
import type { OpDef } from '../ts/src/runtime/op.js';
import * as D from '../ts/src/runtime/op-defs.js';
import { RELAXED, engine, expectClose, golden } from './helpers.js';
import { dropoutKeeps } from './reference-graph.js';
import { xorshiftData } from './reference13.js';

/** A no-op layer in training and eval that stops the plan from fusing what follows into what precedes. */
const BARRIER = { type: 'dropout', name: 'barrier', p: 0 } as const;

const bitsOf = (w: Record<string, Float32Array>) => Buffer.concat(Object.keys(w).sort().map((k) => Buffer.from(w[k].buffer)));

async function trainAndPredict(e: Engine, layers: LayerSpec[], inputShape: number[], steps = 6): Promise<{ weights: Buffer; out: Float32Array; trainOut: Float32Array }> {
  using m = e.model({ inputShape, layers, seed: 5, init: 'pytorch' });
  const per = inputShape.reduce((a, b) => a * b, 1);
  const n = 4 * steps;
  const x = xorshiftData(n * per, 77).map((v) => v * 2);
  const y = Array.from({ length: n }, (_, i) => i % 3);
  await m.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } });
  const out = await m.predict(x.subarray(0, 8 * per), { logits: true });
  m.train();
  const trainOut = Float32Array.from(Object.values(m.lossAndGradients(x.subarray(0, 4 * per), y.slice(0, 4)).gradients).flatMap((g) => Array.from(g)));
  return { weights: bitsOf(m.getWeights()), out, trainOut };
}

const named = (layers: LayerSpec[]) => layers.map((l, i) => ({ ...l, name: l.name ?? `l${i}` })) as LayerSpec[];

describe('fusions are exact', () => {
  const B2 = { ...BARRIER, name: 'barrier2' } as const;
  const conv = (name: string, o: Record<string, unknown> = {}) => ({ type: 'conv2d', name, filters: 4, kernelSize: 3, padding: 1, ...o }) as LayerSpec;
  const res = (activation?: string) => ({ type: 'residual', name: 'res', main: [conv('c', { filters: 2 })], ...(activation ? { activation } : {}) }) as LayerSpec;
  const relu = { type: 'relu', name: 'act' } as const;
  const bn = { type: 'batchNorm2d', name: 'bn' } as const;
  const cases: [string, LayerSpec[], LayerSpec[]][] = [
    ['conv2d + ReLU', [conv('c1'), relu], [conv('c1'), BARRIER, relu]],
    ['depthwise conv2d + ReLU', [conv('c1'), conv('c2', { groups: 4 }), relu], [conv('c1'), conv('c2', { groups: 4 }), BARRIER, relu]],
    ['grouped conv2d + ReLU', [conv('c1'), conv('c2', { groups: 2, stride: 2 }), relu], [conv('c1'), conv('c2', { groups: 2, stride: 2 }), BARRIER, relu]],
    ['batchNorm2d + ReLU', [conv('c1'), BARRIER, bn, relu], [conv('c1'), BARRIER, bn, B2, relu]],
    ['add + ReLU (residual)', [conv('c1', { filters: 2 }), res('relu')], [conv('c1', { filters: 2 }), res(), BARRIER, relu]],
  ];
  for (const [name, fused, unfused] of cases) {
    it(`${name}: training, eval and gradients give the same bits fused and unfused`, async () => {
      const e = await engine({ threads: 1 });
      const head: LayerSpec[] = [{ type: 'flatten', name: 'flat' }, { type: 'dense', name: 'fc', units: 3 }];
      const a = await trainAndPredict(e, [...fused, ...head], [2, 5, 5]);
      const b = await trainAndPredict(e, [...unfused, ...head], [2, 5, 5]);
      expect(a.weights.equals(b.weights)).toBe(true);
      expect(Buffer.from(a.out.buffer).equals(Buffer.from(b.out.buffer))).toBe(true);
      expect(Buffer.from(a.trainOut.buffer).equals(Buffer.from(b.trainOut.buffer))).toBe(true);
    });
  }
});

describe('eval folding of conv → BatchNorm (→ ReLU)', () => {
  const blocks: [string, LayerSpec[]][] = [
    ['conv (bias) → BN → ReLU', [{ type: 'conv2d', filters: 6, kernelSize: 3, padding: 1 }, { type: 'batchNorm2d' }, { type: 'relu' }]],
    ['conv (no bias) → BN (not affine)', [{ type: 'conv2d', filters: 6, kernelSize: 3, stride: 2, useBias: false }, { type: 'batchNorm2d', affine: false }]],
    [
      'MobileNet block: pointwise → BN → ReLU6, depthwise → BN → ReLU, grouped → BN',
      [
        { type: 'conv2d', filters: 8, kernelSize: 1, useBias: false }, { type: 'batchNorm2d' }, { type: 'relu6' },
        { type: 'conv2d', filters: 8, kernelSize: 3, padding: 1, groups: 8, useBias: false }, { type: 'batchNorm2d' }, { type: 'relu' },
        { type: 'conv2d', filters: 4, kernelSize: 3, groups: 2 }, { type: 'batchNorm2d', momentum: null },
      ],
    ],
  ];
  for (const [name, block] of blocks) {
    it(`${name}: within 1e-5 of the output's scale of the unfolded eval forward, before and after training`, async () => {
      const e = await engine({ threads: 1 });
      // The block's output itself (a dense head would sum 100s of its values and mix their roundings).
      const layers = named([...block, { type: 'flatten' }]);
      // The same model with a barrier between every conv and its BN: nothing folds.
      const unfolded = layers.flatMap((l, i) => (l.type === 'batchNorm2d' ? [{ ...BARRIER, name: `barrier${i}` }, l] : [l])) as LayerSpec[];
      using m = e.model({ inputShape: [4, 6, 6], layers, seed: 3 });
      using u = e.model({ inputShape: [4, 6, 6], layers: unfolded, seed: 3 });
      const n = 16;
      const x = xorshiftData(n * 144, 9).map((v) => 3 * v + 0.5);
      const y = new Float32Array(n * m.outputSize).map((_, i) => Math.sin(i));
      const compare = async (when: string) => {
        u.setWeights(m.getWeights());
        const [a, b] = [await m.predict(x, { logits: true }), await u.predict(x, { logits: true })];
        // conv_pool.json's metric (the folded step is a conv): |Δ| ≤ 1e-5·max(‖unfolded‖∞, 1e-2). Folding moves
        // BN's shift into the conv's sum, where it cancels against W'·x: an element far below the output's
        // scale keeps an error of a few ulps of that scale (reported too, relative to max(|v|, 1e-2·‖v‖∞)).
        const scale = Math.max(...Array.from(b, Math.abs));
        const err = expectClose(a, b, 1e-5, Math.max(scale, 1e-2), `${name} ${when}`);
        let elem = 0;
        for (let i = 0; i < a.length; i++) elem = Math.max(elem, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-2 * scale));
        expect(err, 'the folded model takes its own path').toBeGreaterThan(0);
        console.log(`${name}, ${when}: folded vs unfolded eval, max error ${err.toExponential(2)} of the output's scale (${elem.toExponential(2)} elementwise)`);
        return a;
      };
      // Running statistics away from (0, 1) first, so that folding has something to fold.
      await m.fit(x, y, { epochs: 2, batchSize: 4, loss: 'mse', optimizer: { type: 'sgd', lr: 0 } });
      const before = await compare('running statistics from 8 steps');
      await m.fit(x, y, { epochs: 1, batchSize: 4, loss: 'mse', optimizer: { type: 'adam', lr: 1e-2 } });
      const after = await compare('after 4 Adam steps (refolded)');
      expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(false);
    });
  }
});

describe('threads and builds', () => {
  const LAYERS: LayerSpec[] = [
    { type: 'conv2d', filters: 8, kernelSize: 3, padding: 1, useBias: false },
    { type: 'batchNorm2d' },
    { type: 'relu' },
    { type: 'residual', main: [{ type: 'conv2d', filters: 8, kernelSize: 3, padding: 1, groups: 8 }, { type: 'batchNorm2d' }, { type: 'silu' }], activation: 'relu' },
    { type: 'concat', branches: [[{ type: 'conv2d', filters: 4, kernelSize: 1 }], [{ type: 'avgPool2d', poolSize: 3, stride: 1, padding: 1 }]] },
    { type: 'gate', layers: [{ type: 'globalAvgPool2d' }, { type: 'flatten' }, { type: 'dense', units: 12 }, { type: 'sigmoid' }] },
    { type: 'dropout2d', p: 0.2 },
    { type: 'groupNorm', numGroups: 4 },
    { type: 'convTranspose2d', filters: 4, kernelSize: 2, stride: 2 },
    { type: 'adaptiveAvgPool2d', outputSize: [3, 3] },
    { type: 'flatten' },
    { type: 'layerNorm' },
    { type: 'dropout', p: 0.3 },
    { type: 'dense', units: 5 },
  ];
  const run = async (threads: number, relaxedSimd: boolean) => {
    const e = await init({ threads, relaxedSimd });
    try {
      using m = e.model({ inputShape: [3, 10, 10], layers: LAYERS, seed: 21 });
      const x = xorshiftData(48 * 300, 4);
      const y = Array.from({ length: 48 }, (_, i) => (i * 7) % 5);
      await m.fit(x, y, { epochs: 2, batchSize: 12, seed: 2, optimizer: 'adam' });
      return { build: e.info().build, bits: bitsOf(m.getWeights()), out: Buffer.from((await m.predict(x, { logits: true })).buffer) };
    } finally {
      await e.terminate();
    }
  };
  for (const relaxed of RELAXED ? [false, true] : [false]) {
    it(`${relaxed ? 'relaxed-simd' : 'simd'}: training a model with every issue-13 layer is bitwise the same on 1 and 2 threads`, async () => {
      const one = await run(1, relaxed);
      const two = await run(2, relaxed);
      expect(two.build).toMatch(/threads/);
      expect(two.bits.equals(one.bits)).toBe(true);
      expect(two.out.equals(one.out)).toBe(true);
    }, 60_000);
  }

  it('dropout masks are the kernel hash, identical on every build and thread count', async () => {
    const configs = [{ threads: 1, relaxedSimd: false }, { threads: 2, relaxedSimd: false }, ...(RELAXED ? [{ threads: 1, relaxedSimd: true }, { threads: 2, relaxedSimd: true }] : [])];
    const [batch, n, p] = [5, 700, 0.35];
    const masks: Uint32Array[] = [];
    for (const cfg of configs) {
      const e = await init(cfg);
      try {
        using x = e.tensor(new Float32Array(batch * n).fill(1));
        using y = e.alloc(batch * n);
        using mask = e.allocU32(Math.ceil((batch * n) / 32));
        using c = e.allocU32(2);
        c.view().set([123456789, 3]);
        using op = new WasmOp(e, D.DROPOUT, 'test dropout', { n, inner: 1, seedLo: 42, seedHi: 7 }, [p]);
        op.forward(batch, { x: x.ptr, y: y.ptr, mask: mask.ptr, counter: c.ptr }, OpFlags.TRAIN);
        masks.push(mask.view().slice());
        // The values are the mask scaled by 1/(1 − p).
        const yv = y.view();
        for (let i = 0; i < batch * n; i++) expect(yv[i]).toBe((mask.view()[i >> 5] >>> (i & 31)) & 1 ? Math.fround(1 / Math.fround(1 - Math.fround(p))) : 0);
      } finally {
        await e.terminate();
      }
    }
    for (const m of masks) expect(Buffer.from(m.buffer).equals(Buffer.from(masks[0].buffer))).toBe(true);
    const seed = (7n << 32n) | 42n;
    const counter = (3n << 32n) | 123456789n;
    let kept = 0;
    for (let i = 0; i < batch * n; i++) {
      const bit = (masks[0][i >> 5] >>> (i & 31)) & 1;
      expect(bit).toBe(dropoutKeeps(seed, counter, i, p) ? 1 : 0);
      kept += bit;
    }
    // 3500 draws: the kept fraction within 4 standard deviations of 1 − p.
    expect(Math.abs(kept / (batch * n) - (1 - p))).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / (batch * n)));
  });
});

describe("refusals name the layer's path", () => {
  it("every new operator's create and call refusals are errors naming the layer", async () => {
    const e = await engine({ threads: 1 });
    const where = "'layer1.0.x' (test)";
    const bad: [OpDef, Record<string, number>, number[]][] = [
      [D.BATCH_NORM, { c: 1 << 16, inner: 1 << 15, affine: 1, track: 1, relu: 0, cumulative: 0 }, [1e-5, 0.1]],
      [D.LAYER_NORM, { rows: 1 << 16, d: 1 << 15, affine: 1 }, [1e-5]],
      [D.GROUP_NORM, { c: 6, inner: 4, groups: 4, affine: 1 }, [1e-5]],
      [D.DROPOUT, { n: 10, inner: 3, seedLo: 0, seedHi: 0 }, [0.5]],
      [D.ACTIVATION, { n: 1 << 30, fn: 0 }, [0]],
      [D.ADD, { n: 1 << 30, activation: 0 }, []],
      [D.concatDef(2), { inner: 1 << 20, k: 2, c0: 1 << 10, c1: 1 << 10 }, []],
      [D.GATE, { c: 1 << 16, inner: 1 << 15 }, []],
      [D.CONV2D, { c: 4, h: 5, w: 5, o: 6, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, dh: 1, dw: 1, oh: 5, ow: 5, activation: 0, groups: 4 }, []],
      [D.CONV_TRANSPOSE2D, { c: 2, h: 3, w: 3, o: 2, kh: 3, kw: 3, sh: 2, sw: 2, pt: 1, pl: 1, dh: 1, dw: 1, oh: 8, ow: 5, groups: 1 }, []],
      [D.AVG_POOL2D, { c: 1, h: 5, w: 5, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, oh: 2, ow: 3, ceil: 0, includePad: 1, divisor: 0 }, []],
      [D.ADAPTIVE_POOL2D, { c: 1 << 16, h: 1 << 8, w: 1 << 8, oh: 1, ow: 1, max: 0 }, []],
      [D.CROSS_ENTROPY, { classes: 1 << 30, probabilities: 0, reduction: 0, weighted: 0, ignoreIndex: 0 }, [0]],
      [D.BCE_WITH_LOGITS, { n: 1 << 30, reduction: 0, weighted: 0, posWeighted: 0 }, []],
      [D.REGRESSION, { n: 4, fn: 2, reduction: 0 }, [0]],
    ];
    for (const [def, attrs, floats] of bad) {
      let err: unknown;
      try {
        new WasmOp(e, def, where, attrs as never, floats).dispose();
      } catch (x) {
        err = x;
      }
      expect(err, def.name).toBeInstanceOf(Error);
      expect((err as Error).constructor.name, def.name).toMatch(/^(RangeError|TypeError)$/);
      expect((err as Error).message, def.name).toMatch(/^'layer1\.0\.x' \(test\): /);
    }
    // A call's refusal: a batch whose size does not fit (the io block is checked on every call).
    using op = new WasmOp(e, D.ACTIVATION, where, { n: 1 << 20, fn: 3 }, [1]);
    expect(() => op.forward(1 << 12, {})).toThrow(/^'layer1\.0\.x' \(test\) forward: at batch 4096, the input batch needs/);
    expect(() => op.forward(1, {})).toThrow(/^'layer1\.0\.x' \(test\) forward: buffer 'x' of 4 MiB is missing/);
  });

  it('from models: a batch of one through BatchNorm in training, a concat of more branches than one operator takes', async () => {
    const e = await engine({ threads: 1 });
    using bn = e.model({ inputShape: [3], layers: [{ type: 'dense', units: 4, name: 'fc' }, { type: 'batchNorm1d', name: 'bn' }] });
    expect(() => bn.lossAndGradients(new Float32Array(3), [1])).toThrow(/^'bn' \(batchNorm1d\): batch statistics need more than one value per channel/);
    bn.eval();
    expect(bn.lossAndGradients(new Float32Array(3), [1]).loss).toBeGreaterThan(0);
    using wide = e.model({ inputShape: [1, 2, 2], layers: [{ type: 'concat', name: 'cat', branches: Array.from({ length: 8 }, () => [{ type: 'relu' }]) }, { type: 'flatten' }] as LayerSpec[] });
    await expect(wide.predict(new Float32Array(4))).rejects.toThrow(/^'cat' \(concat\): concatenates 8 branches, this build's concat takes at most 7/);
  });
});

describe("BatchNorm's running statistics after 20 fit steps equal torch's (test/golden/models.json)", () => {
  const G = golden<any>('models.json').bnFit20; // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const run of G.runs) {
    it(`momentum ${run.momentum}: conv → BN → ReLU → dense, plain SGD, 20 steps of 2`, async () => {
      const e = await engine({ threads: 1 });
      const layers: LayerSpec[] = [
        { type: 'conv2d', filters: 3, kernelSize: 3, padding: 1 }, { type: 'batchNorm2d', momentum: run.momentum }, { type: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 4 },
      ];
      using m = e.model({ inputShape: [2, 5, 5], layers });
      m.setWeights(G.weights);
      const x = xorshiftData(G.n * 50, G.seed);
      await m.fit(x, G.labels, { epochs: 1, batchSize: G.batchSize, shuffle: false, optimizer: { type: 'sgd', lr: G.lr } });
      const w = m.getWeights();
      expect(w['1.num_batches_tracked'][0]).toBe(run.f64.batchesTracked);
      // float32 training against torch's float64 run: relative 1e-6, as the Rust running-statistics checks
      // (torch's own float32 run is reported).
      const rel = (a: ArrayLike<number>, b: number[]) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / Math.abs(b[i])));
      const ours = Math.max(rel(w['1.running_mean'], run.f64.runningMean), rel(w['1.running_var'], run.f64.runningVar));
      const theirs = Math.max(rel(run.torch_f32.runningMean, run.f64.runningMean), rel(run.torch_f32.runningVar, run.f64.runningVar));
      console.log(`momentum ${run.momentum}: running stats vs torch float64, max relative error ${ours.toExponential(2)} (torch float32: ${theirs.toExponential(2)}); conv weight ${rel(w['0.weight'], run.f64.weight).toExponential(2)}`);
      expectClose(w['1.running_mean'], run.f64.runningMean, 1e-6, 1e-30, 'running_mean');
      expectClose(w['1.running_var'], run.f64.runningVar, 1e-6, 1e-30, 'running_var');
    });
  }
});
