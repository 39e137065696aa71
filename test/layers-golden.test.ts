// Every layer's forward and backward through the wasm functional API against PyTorch
// (test/golden/layers.json: float64 references computed from the same float32 inputs).
import { describe, expect, it } from 'vitest';
import { ops, type Padding } from '../ts/src/index.js';
import { VARIANTS, engine, expectClose, f32, golden } from './helpers.js';

interface ConvCase {
  name: string; n: number; c: number; h: number; w: number; o: number; kh: number; kw: number;
  stride: [number, number]; padding: [number, number] | 'same' | 'valid'; dilation: [number, number]; bias: boolean;
  x: number[]; weight: number[]; b: number[] | null; dy: number[]; y: number[]; outShape: number[];
  dx: number[]; dw: number[]; db: number[] | null;
}
interface PoolCase {
  name: string; n: number; c: number; h: number; w: number; kernel: [number, number]; stride: [number, number];
  padding: [number, number]; x: number[]; dy: number[]; y: number[]; outShape: number[]; dx: number[];
}
interface LinearCase {
  name: string; batch: number; in: number; out: number; x: number[]; weight: number[]; b: number[];
  dy: number[]; y: number[]; dx: number[]; dw: number[]; db: number[];
}
interface XentCase { name: string; batch: number; classes: number; logits: number[]; labels: number[]; loss: number; dlogits: number[] }

const G = golden<{ conv2d: ConvCase[]; maxpool2d: PoolCase[]; linear: LinearCase[]; softmax_cross_entropy: XentCase[] }>('layers.json');

// float32 kernels against float64 references: |err| ≤ 1e-5 · max(|ref|, 1) per element (a dot product of
// K ≤ 200 terms of unit scale rounds to about √K · 6e-8 · its magnitude, well inside this).
const RTOL = 1e-5;
const FLOOR = 1;

// Each single-threaded build: plain SIMD, and relaxed SIMD (fused multiply-adds) where the runtime has it;
// the same tolerances hold for both.
for (const v of VARIANTS) {
  describe(`${v.label}: conv2d matches PyTorch`, () => {
    for (const c of G.conv2d) {
      it(c.name, async () => {
        const e = await engine(v.opts);
        const args = {
          x: f32(c.x), xShape: [c.n, c.c, c.h, c.w] as const,
          weight: f32(c.weight), weightShape: [c.o, c.c, c.kh, c.kw] as const,
          bias: c.b ? f32(c.b) : null, stride: c.stride, padding: c.padding as Padding, dilation: c.dilation,
        };
        const fwd = ops.conv2d(e, args);
        expect(fwd.shape).toEqual(c.outShape);
        expectClose(fwd.y, c.y, RTOL, FLOOR, `${c.name} y`);
        const bwd = ops.conv2dBackward(e, { ...args, dy: f32(c.dy) });
        expectClose(bwd.dx!, c.dx, RTOL, FLOOR, `${c.name} dx`);
        expectClose(bwd.dWeight, c.dw, RTOL, FLOOR, `${c.name} dw`);
        if (c.db) expectClose(bwd.dBias!, c.db, RTOL, FLOOR, `${c.name} db`);
        else expect(bwd.dBias).toBeNull();
      });
    }
  });

  describe(`${v.label}: maxPool2d matches PyTorch`, () => {
    for (const c of G.maxpool2d) {
      it(c.name, async () => {
        const e = await engine(v.opts);
        const args = { x: f32(c.x), xShape: [c.n, c.c, c.h, c.w] as const, kernelSize: c.kernel, stride: c.stride, padding: c.padding };
        const fwd = ops.maxPool2d(e, args);
        expect(fwd.shape).toEqual(c.outShape);
        expect(Array.from(fwd.y)).toEqual(Array.from(f32(c.y))); // a max is exact
        expectClose(ops.maxPool2dBackward(e, { ...args, dy: f32(c.dy) }).dx, c.dx, RTOL, FLOOR, `${c.name} dx`);
      });
    }
  });

  describe(`${v.label}: dense matches PyTorch Linear`, () => {
    for (const c of G.linear) {
      it(c.name, async () => {
        const e = await engine(v.opts);
        const args = { x: f32(c.x), xShape: [c.batch, c.in] as const, weight: f32(c.weight), weightShape: [c.out, c.in] as const, bias: f32(c.b) };
        expectClose(ops.dense(e, args).y, c.y, RTOL, FLOOR, `${c.name} y`);
        const g = ops.denseBackward(e, { ...args, dy: f32(c.dy) });
        expectClose(g.dx!, c.dx, RTOL, FLOOR, `${c.name} dx`);
        expectClose(g.dWeight, c.dw, RTOL, FLOOR, `${c.name} dw`);
        expectClose(g.dBias!, c.db, RTOL, FLOOR, `${c.name} db`);
      });
    }
  });

  describe(`${v.label}: softmax cross-entropy matches PyTorch F.cross_entropy`, () => {
    for (const c of G.softmax_cross_entropy) {
      it(c.name, async () => {
        const e = await engine(v.opts);
        const r = ops.softmaxCrossEntropy(e, { logits: f32(c.logits), shape: [c.batch, c.classes], labels: c.labels });
        expect(Number.isFinite(r.loss)).toBe(true);
        expectClose([r.loss], [c.loss], RTOL, FLOOR, `${c.name} loss`);
        expectClose(r.dLogits, c.dlogits, RTOL, FLOOR, `${c.name} dlogits`);
      });
    }
  });
}
