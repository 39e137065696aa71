// Issue 13's layers and losses through their wasm operators (the ABI the graph models bind) against the
// committed PyTorch goldens: test/golden/norm_act_loss.json (gen_norm_act_loss.py) and conv_pool.json
// (gen_conv_pool.py), with the tolerances of the Rust tests that check the same files natively:
//   norm/gate tensors   |got − want| ≤ 1e-5 · max(|want_i|, 1e-2 · ‖want‖∞)      (golden_norm_act_loss.rs)
//   conv/pool tensors   |got − want| ≤ 1e-5 · max(‖want‖∞, 1e-2)                  (golden_conv_pool.rs)
//   loss values         relative 1e-12 (f64 on both sides); running statistics relative 1e-6
//   activations         the f64 definition's bound of activation_sweep.rs:
//                       |got − f| ≤ 1e-6·|f| + 2⁻²³·|x·f′(x)| + 2⁻²²·T(x)·|dy| + 1e-4·2⁻¹²⁶
// Every single-threaded build (simd, relaxed-simd where the runtime has it) and the threaded build (2 threads).
import { afterAll, describe, expect, it } from 'vitest';
import { init, type Engine, type F32Buffer, type U32Buffer } from '../ts/src/index.js';
import { OpFlags, WasmOp, type OpDef } from '../ts/src/runtime/op.js';
import * as D from '../ts/src/runtime/op-defs.js';
import { poolOut } from '../ts/src/nn/ops/avg-pool2d.js';
import { RELAXED, expectClose, golden } from './helpers.js';
import { activationReference, xorshiftData } from './reference13.js';

type Src = { seed: number; scale: number; offset: number } | number[];
const NAL = golden<any>('norm_act_loss.json'); // eslint-disable-line @typescript-eslint/no-explicit-any
const CP = golden<any>('conv_pool.json'); // eslint-disable-line @typescript-eslint/no-explicit-any

/** `scale·data(n, seed) + offset` in f32, as the generators draw inputs (or literal values). */
function input(v: Src, n: number): Float32Array {
  if (Array.isArray(v)) return Float32Array.from(v);
  const d = xorshiftData(n, v.seed);
  const [s, o] = [Math.fround(v.scale), Math.fround(v.offset)];
  return d.map((x) => Math.fround(Math.fround(x * s) + o));
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
/** norm_act_loss.json's metric; returns the worst error. */
const nal = (got: ArrayLike<number>, want: number[], what: string) => expectClose(got, want, 1e-5, 1e-2 * maxAbs(want), what);
/** conv_pool.json's metric. */
const cp = (got: ArrayLike<number>, want: number[], what: string) => expectClose(got, want, 1e-5, Math.max(maxAbs(want), 1e-2), what);

/** Buffers in the engine's memory for one call, freed together. */
class Bufs {
  readonly all: (F32Buffer | U32Buffer)[] = [];
  constructor(readonly e: Engine) {}
  f(v: ArrayLike<number> | number): number {
    const b = typeof v === 'number' ? this.e.alloc(Math.max(v, 1)) : this.e.tensor(v);
    this.all.push(b);
    return b.ptr;
  }
  u(v: ArrayLike<number> | number): number {
    const b = this.e.allocU32(typeof v === 'number' ? Math.max(v, 1) : Math.max(v.length, 1));
    if (typeof v !== 'number') b.view().set(Array.from(v, (x) => x >>> 0));
    this.all.push(b);
    return b.ptr;
  }
  read(ptr: number, n: number): Float32Array {
    return new Float32Array(this.e.exports.memory.buffer, ptr, n).slice();
  }
  f64(ptr: number): number {
    return new Float64Array(this.e.exports.memory.buffer, ptr, 1)[0];
  }
  [Symbol.dispose](): void {
    for (const b of this.all) b.dispose();
  }
}

const worst: Record<string, { err: number; tol: string }> = {};
const note = (build: string, what: string, err: number, tol: string) => {
  const k = `${build} | ${what}`;
  worst[k] = { err: Math.max(worst[k]?.err ?? 0, err), tol };
};
afterAll(() => {
  console.log(Object.entries(worst).map(([k, v]) => `${k}: max error ${v.err.toExponential(2)} (tolerance ${v.tol})`).join('\n'));
});

const BUILDS = [
  { label: 'simd', opts: { threads: 1, relaxedSimd: false } },
  ...(RELAXED ? [{ label: 'relaxed-simd', opts: { threads: 1, relaxedSimd: true } }] : []),
  { label: 'simd-threads ×2', opts: { threads: 2, relaxedSimd: false } },
];

for (const build of BUILDS) {
  describe(`${build.label}: issue-13 operators match PyTorch`, () => {
    let e: Engine;
    const get = async () => (e ??= await init(build.opts));
    afterAll(async () => e?.terminate());
    const op = <Df extends OpDef>(def: Df, attrs: Record<string, number>, floats: number[] = []) => new WasmOp(e, def, `test ${def.name}`, attrs as never, floats);

    it('batchNorm (train / eval, affine or not, cumulative momentum, untracked, fused ReLU)', async () => {
      await get();
      for (const c of NAL.batchnorm) {
        using b = new Bufs(e);
        const len = c.n * c.c * c.inner;
        const x = b.f(input(c.x, len));
        const [w, bias] = c.affine ? [b.f(input(c.weight, c.c)), b.f(input(c.bias, c.c))] : [0, 0];
        const [rm, rv, bt] = c.trackRunningStats ? [b.f(input(c.runningMean, c.c)), b.f(input(c.runningVar, c.c)), b.f(1)] : [0, 0, 0];
        const [y, mean, rstd, dy, dx, dw, db] = [b.f(len), b.f(c.c), b.f(c.c), b.f(input(c.dy, len)), b.f(len), b.f(c.c), b.f(c.c)];
        using o = op(D.BATCH_NORM, { c: c.c, inner: c.inner, affine: +c.affine, track: +c.trackRunningStats, relu: +c.relu, cumulative: +(c.momentum === null) }, [1e-5, c.momentum ?? 0]);
        const flags = c.training ? OpFlags.TRAIN : 0;
        const io = { x, weight: w, bias, runningMean: rm, runningVar: rv, batchesTracked: bt, y, mean, rstd, dy, dx, dweight: dw, dbias: db };
        o.forward(c.n, io, flags);
        o.backward(c.n, io, flags);
        note(build.label, 'batchNorm y', nal(b.read(y, len), c.y, `${c.name} y`), '1e-5');
        note(build.label, 'batchNorm dx', nal(b.read(dx, len), c.dx, `${c.name} dx`), '1e-5');
        if (c.affine) {
          note(build.label, 'batchNorm dweight/dbias', Math.max(nal(b.read(dw, c.c), c.dweight, `${c.name} dweight`), nal(b.read(db, c.c), c.dbias, `${c.name} dbias`)), '1e-5');
        }
        if (c.trackRunningStats) {
          expectClose(b.read(rm, c.c), c.runningMeanAfter, 1e-6, 1e-30, `${c.name} running_mean`);
          expectClose(b.read(rv, c.c), c.runningVarAfter, 1e-6, 1e-30, `${c.name} running_var`);
          expect(b.read(bt, 1)[0]).toBe(c.training ? 1 : 0);
        }
      }
    });

    it('batchNorm running statistics after 20 training forwards (momentum 0.1 and cumulative)', async () => {
      await get();
      for (const c of NAL.batchnormSteps20) {
        using b = new Bufs(e);
        const len = c.n * c.c * c.inner;
        const [w, bias, rm, rv, bt] = [b.f(new Array(c.c).fill(1)), b.f(c.c), b.f(c.c), b.f(new Array(c.c).fill(1)), b.f(1)];
        const [x, y, mean, rstd] = [b.f(len), b.f(len), b.f(c.c), b.f(c.c)];
        using o = op(D.BATCH_NORM, { c: c.c, inner: c.inner, affine: 1, track: 1, relu: 0, cumulative: +(c.momentum === null) }, [1e-5, c.momentum ?? 0]);
        o.bind({ x, weight: w, bias, runningMean: rm, runningVar: rv, batchesTracked: bt, y, mean, rstd });
        for (const batch of c.batches) {
          new Float32Array(e.exports.memory.buffer, x, len).set(input(batch, len));
          o.forward(c.n, undefined, OpFlags.TRAIN);
        }
        expect(b.read(bt, 1)[0]).toBe(c.batchesTracked);
        const err = Math.max(expectClose(b.read(rm, c.c), c.runningMean, 1e-6, 1e-30, 'running_mean'), expectClose(b.read(rv, c.c), c.runningVar, 1e-6, 1e-30, 'running_var'));
        note(build.label, 'batchNorm running stats, 20 steps', err, '1e-6');
      }
    });

    it('layerNorm and groupNorm', async () => {
      await get();
      const norm = (def: typeof D.LAYER_NORM | typeof D.GROUP_NORM, attrs: Record<string, number>, c: any, batch: number, rows: number, params: number, what: string) => { // eslint-disable-line @typescript-eslint/no-explicit-any
        using b = new Bufs(e);
        const len = c.x.seed === undefined ? c.x.length : c.shape ? c.shape.reduce((p: number, q: number) => p * q, 1) : c.n * c.c * c.inner;
        const x = b.f(input(c.x, len));
        const [w, bias] = c.affine ? [b.f(input(c.weight, params)), b.f(input(c.bias, params))] : [0, 0];
        const [y, mean, rstd, dy, dx, dw, db] = [b.f(len), b.f(batch * rows), b.f(batch * rows), b.f(input(c.dy, len)), b.f(len), b.f(params), b.f(params)];
        using o = op(def, attrs, [1e-5]);
        const io = { x, weight: w, bias, y, mean, rstd, dy, dx, dweight: dw, dbias: db };
        o.forward(batch, io, OpFlags.TRAIN);
        o.backward(batch, io, OpFlags.TRAIN);
        note(build.label, `${def.name} y`, nal(b.read(y, len), c.y, `${what} y`), '1e-5');
        note(build.label, `${def.name} dx`, nal(b.read(dx, len), c.dx, `${what} dx`), '1e-5');
        if (c.affine) note(build.label, `${def.name} dweight/dbias`, Math.max(nal(b.read(dw, params), c.dweight, `${what} dw`), nal(b.read(db, params), c.dbias, `${what} db`)), '1e-5');
      };
      for (const c of NAL.layernorm) {
        const d = c.normalized.reduce((p: number, q: number) => p * q, 1);
        const rows = c.shape.slice(1, c.shape.length - c.normalized.length).reduce((p: number, q: number) => p * q, 1);
        norm(D.LAYER_NORM, { rows, d, affine: +c.affine }, c, c.shape[0], rows, d, `layerNorm ${c.shape}`);
      }
      for (const c of NAL.groupnorm) norm(D.GROUP_NORM, { c: c.c, inner: c.inner, groups: c.groups, affine: +c.affine }, c, c.n, c.groups, c.c, `groupNorm ${c.n}×${c.c}×${c.inner}/${c.groups}`);
    });

    it('every activation against its f64 definition (activation_sweep.rs bound) on the golden grid', async () => {
      await get();
      const xs = Float32Array.from(NAL.activations.x as number[]);
      const dyv = xs.map((_, i) => 0.5 + (i % 5) * 0.25);
      for (const c of NAL.activations.cases) {
        const name = c.name === 'leaky_relu' ? 'leakyRelu' : c.name === 'gelu_tanh' ? 'geluTanh' : c.name;
        const alpha = c.negativeSlope ?? c.alpha ?? 0;
        using b = new Bufs(e);
        const [x, y, dy, dx] = [b.f(xs), b.f(xs.length), b.f(dyv), b.f(xs.length)];
        using o = op(D.ACTIVATION, { n: xs.length, fn: (D.ACTIVATION_KINDS as readonly string[]).indexOf(name) }, [alpha]);
        o.forward(1, { x, y, dy, dx });
        o.backward(1);
        const [got, gotDx] = [b.read(y, xs.length), b.read(dx, xs.length)];
        let [wf, wb] = [0, 0];
        for (let i = 0; i < xs.length; i++) {
          const r = activationReference(name, Math.fround(alpha), xs[i], dyv[i]);
          const ef = Math.abs(got[i] - r.f) / r.boundF;
          const eb = Math.abs(gotDx[i] - r.d) / r.boundD;
          if (!(ef <= 1)) throw new Error(`${name} forward at ${xs[i]}: ${got[i]} vs ${r.f} (err/bound ${ef})`);
          if (!(eb <= 1)) throw new Error(`${name} backward at ${xs[i]}: ${gotDx[i]} vs ${r.d} (err/bound ${eb})`);
          [wf, wb] = [Math.max(wf, ef), Math.max(wb, eb)];
        }
        note(build.label, `activation ${name}${alpha ? ` ${alpha}` : ''} (err/bound)`, Math.max(wf, wb), '1 (bound)');
      }
    });

    it('losses: cross-entropy (labels / probabilities, weights, smoothing, ignore −100, mean / sum), BCE with logits, regression', async () => {
      await get();
      const ce = NAL.losses.crossEntropy;
      for (const k of ce.cases) {
        using b = new Bufs(e);
        const len = ce.n * ce.c;
        const [z, dz, loss] = [b.f(input(ce.logits, len)), b.f(len), b.f(2)];
        const probs = k.target === 'probabilities';
        const target = probs ? b.f(ce.probabilities) : b.u(ce.labels);
        const weight = k.weighted ? b.f(input(ce.weight, ce.c)) : 0;
        const attrs = { classes: ce.c, probabilities: +probs, reduction: +(k.reduction === 'sum'), weighted: +k.weighted, ignoreIndex: -100 >>> 0 };
        using o = op(D.CROSS_ENTROPY, attrs, [k.labelSmoothing]);
        o.forward(ce.n, { logits: z, target, weight, dlogits: dz, loss });
        note(build.label, 'crossEntropy loss', expectClose([b.f64(loss)], [k.loss], 1e-12, 1e-300, `${JSON.stringify(k)} loss`), '1e-12');
        note(build.label, 'crossEntropy dlogits', nal(b.read(dz, len), k.dlogits, 'dlogits'), '1e-5');
      }
      const bce = NAL.losses.bce;
      for (const k of bce.cases) {
        using b = new Bufs(e);
        const len = bce.rows * bce.cols;
        const [x, t, dx, loss] = [b.f(input(bce.x, len)), b.f(bce.target), b.f(len), b.f(2)];
        const [w, pw] = k.weighted ? [b.f(input(bce.weight, bce.cols)), b.f(input(bce.posWeight, bce.cols))] : [0, 0];
        using o = op(D.BCE_WITH_LOGITS, { n: bce.cols, reduction: +(k.reduction === 'sum'), weighted: +k.weighted, posWeighted: +k.weighted });
        o.forward(bce.rows, { x, target: t, weight: w, posWeight: pw, dx, loss });
        note(build.label, 'bce loss', expectClose([b.f64(loss)], [k.loss], 1e-12, 1e-300, 'bce loss'), '1e-12');
        note(build.label, 'bce dx', nal(b.read(dx, len), k.dx, 'bce dx'), '1e-5');
      }
      const reg = NAL.losses.regression;
      for (const k of reg.cases) {
        using b = new Bufs(e);
        const n = reg.x.length;
        const [x, t, dx, loss] = [b.f(reg.x), b.f(reg.target), b.f(n), b.f(2)];
        const fn = ['mse', 'l1', 'huber', 'smooth_l1'].indexOf(k.kind);
        using o = op(D.REGRESSION, { n, fn, reduction: +(k.reduction === 'sum') }, [k.delta ?? k.beta ?? 0]);
        o.forward(1, { x, target: t, dx, loss });
        note(build.label, 'regression loss', expectClose([b.f64(loss)], [k.loss], 1e-12, 1e-300, `${k.kind} loss`), '1e-12');
        note(build.label, 'regression dx', nal(b.read(dx, n), k.dx, `${k.kind} dx`), '1e-5');
      }
    });

    it('the squeeze-and-excitation gate', async () => {
      await get();
      const c = NAL.gate;
      using b = new Bufs(e);
      const len = c.n * c.c * c.inner;
      const [x, s, y, dy, dx, ds] = [b.f(input(c.x, len)), b.f(input(c.s, c.n * c.c)), b.f(len), b.f(input(c.dy, len)), b.f(len), b.f(c.n * c.c)];
      using o = op(D.GATE, { c: c.c, inner: c.inner });
      o.forward(c.n, { x, s, y, dy, dx, ds });
      o.backward(c.n);
      note(build.label, 'gate dx/ds', Math.max(nal(b.read(dx, len), c.dx, 'gate dx'), nal(b.read(ds, c.n * c.c), c.ds, 'gate ds')), '1e-5');
    });

    it('conv_pool.json: grouped, depthwise and transposed convs, avg / max (ceil) / adaptive pools', async () => {
      await get();
      const seen = new Set<string>();
      for (const c of CP.cases) {
        using b = new Bufs(e);
        const a = c.attrs;
        const inputs: Record<string, Float32Array> = Object.fromEntries(Object.entries(c.inputs as Record<string, { shape: number[]; seed: number }>).map(([k, v]) => [k, xorshiftData(v.shape.reduce((p, q) => p * q, 1), v.seed)]));
        const [h, w] = a.hw;
        const x = b.f(inputs.x);
        const dy = b.f(inputs.dy);
        const xl = inputs.x.length;
        const yl = inputs.dy.length;
        const [y, dx] = [b.f(yl), b.f(xl)];
        let o: WasmOp;
        let io: Record<string, number> = { x, y, dy, dx };
        const params: [string, number, number][] = [];
        if (c.op === 'conv2d' || c.op === 'depthwise2d' || c.op === 'conv_transpose2d') {
          const [kh, kw] = a.k;
          const [sh, sw] = a.stride;
          const [dh, dwl] = a.dilation;
          const [wt, bias] = [b.f(inputs.w), b.f(inputs.b)];
          const [dw, db] = [b.f(inputs.w.length), b.f(inputs.b.length)];
          params.push(['w', dw, inputs.w.length], ['b', db, inputs.b.length]);
          io = { ...io, weight: wt, bias, dweight: dw, dbias: db };
          if (c.op === 'conv_transpose2d') {
            const [ph, pw] = a.padding;
            const oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + a.outputPadding[0] + 1;
            const ow = (w - 1) * sw - 2 * pw + dwl * (kw - 1) + a.outputPadding[1] + 1;
            o = op(D.CONV_TRANSPOSE2D, { c: a.cin, h, w, o: a.cout, kh, kw, sh, sw, pt: ph, pl: pw, dh, dw: dwl, oh, ow, groups: a.groups });
          } else {
            const [pt, pl, pb, pr] = a.pad;
            const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
            const ow = Math.floor((w + pl + pr - dwl * (kw - 1) - 1) / sw) + 1;
            o = op(D.CONV2D, { c: a.c, h, w, o: a.o, kh, kw, sh, sw, pt, pl, dh, dw: dwl, oh, ow, activation: 0, groups: a.groups });
          }
        } else if (c.op === 'avg_pool2d') {
          const [[kh, kw], [sh, sw], [ph, pw]] = [a.k, a.stride, a.padding];
          const oh = poolOut('test', 'height', h, kh, sh, ph, 1, a.ceilMode);
          const ow = poolOut('test', 'width', w, kw, sw, pw, 1, a.ceilMode);
          o = op(D.AVG_POOL2D, { c: a.c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, ceil: +a.ceilMode, includePad: +a.countIncludePad, divisor: a.divisorOverride ?? 0 });
        } else if (c.op === 'max_pool2d') {
          const [[kh, kw], [sh, sw], [ph, pw], [dh, dwl]] = [a.k, a.stride, a.padding, a.dilation];
          const oh = poolOut('test', 'height', h, kh, sh, ph, dh, a.ceilMode);
          const ow = poolOut('test', 'width', w, kw, sw, pw, dwl, a.ceilMode);
          o = op(D.MAXPOOL2D, { c: a.c, h, w, kh, kw, sh, sw, pt: ph, pl: pw, dh, dw: dwl, oh, ow });
          io.argmax = b.u(yl);
        } else {
          o = op(D.ADAPTIVE_POOL2D, { c: a.c, h, w, oh: a.out[0], ow: a.out[1], max: +(c.op === 'adaptive_max_pool2d') });
          io.argmax = b.u(yl);
        }
        using _o = o;
        o.forward(a.n, io, OpFlags.TRAIN);
        o.backward(a.n, io, OpFlags.TRAIN);
        const what = `${c.op} ${c.name}`;
        let err = cp(b.read(y, yl), c.y, `${what} y`);
        err = Math.max(err, cp(b.read(dx, xl), c.grads.x, `${what} dx`));
        for (const [k, p, n] of params) err = Math.max(err, cp(b.read(p, n), c.grads[k], `${what} d${k}`));
        note(build.label, c.op, err, '1e-5');
        seen.add(c.op);
      }
      expect([...seen].sort()).toEqual(['adaptive_avg_pool2d', 'adaptive_max_pool2d', 'avg_pool2d', 'conv2d', 'conv_transpose2d', 'depthwise2d', 'max_pool2d']);
    });
  });
}
