// Kernel benchmarks (issue #4's section): SGEMM 1024³, conv 3×3 forward and backward (through the conv2d
// operator, as the layers run it), the Adam step over 10M parameters against a memory.copy of the same
// bytes, issue 13's depthwise 3×3 forward (MobileNetV2 shapes) and BatchNorm + ReLU forward + backward
// against a memory.copy of the same bytes — wasmcnn and tfjs-backend-wasm (XNNPACK) in one run. (The NHWC experiment's rows went with it; its
// measurement is in docs/ARCHITECTURE.md.)
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Engine } from '../ts/src/index.js';
import { BATCH_NORM, CONV2D } from '../ts/src/runtime/op-defs.js';
import { Activation, OpFlags, WasmOp } from '../ts/src/runtime/op.js';

export interface KernelRow {
  name: string;
  impl: 'wasmcnn' | 'tfjs-wasm';
  threads: number;
  build: string;
  unit: 'GFLOPS' | 'GB/s';
  value: number;
}

/** Best time of `reps` calls after one warm-up (the least disturbed run on a noisy machine). */
function best(reps: number, f: () => void): number {
  f();
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

const CONV = { n: 64, c: 32, h: 32, w: 32, o: 64, k: 3 }; // 3×3, 'same', stride 1
const CONV_FLOPS = 2 * CONV.n * CONV.o * CONV.h * CONV.w * CONV.c * CONV.k * CONV.k;
/** MobileNetV2's depthwise 3×3 at 28×28 (144 channels, batch 32), stride 1 and 2 (padding 1). */
const DW = { n: 32, c: 144, h: 28, w: 28, strides: [1, 2] };
const dwOut = (s: number) => Math.floor((DW.h + 2 - 3) / s) + 1;
const dwFlops = (s: number) => 2 * DW.n * DW.c * dwOut(s) ** 2 * 9;
/** BatchNorm + ReLU over the same tensor; bytes counted as one read of x and write of y (forward), one read
 * of x and dy and write of dx (backward): 20 per element. */
const BN = { n: 32, c: 144, inner: 28 * 28 };
const BN_BYTES = 20 * BN.n * BN.c * BN.inner;

export function wasmcnnKernels(e: Engine, reps: number): KernelRow[] {
  const ex = e.exports;
  const { build, threads } = e.info();
  const rows: KernelRow[] = [];
  // Deterministic values of unit scale (constant inputs can hit special fast paths in some engines).
  const buf = (n: number, scale = 1) => {
    const b = e.alloc(n, 'bench');
    const v = b.view();
    for (let i = 0; i < n; i++) v[i] = scale * Math.sin(i * 0.618);
    return b;
  };
  {
    const n = 1024;
    using a = buf(n * n);
    using b = buf(n * n);
    using c = buf(n * n);
    const s = best(reps, () => ex.wcnn_sgemm(n, n, n, a.ptr, b.ptr, c.ptr));
    rows.push({ name: 'sgemm-1024', impl: 'wasmcnn', threads, build, unit: 'GFLOPS', value: (2 * n ** 3) / s / 1e9 });
  }
  {
    const { n, c, h, w, o, k } = CONV;
    using x = buf(n * c * h * w);
    using wt = buf(o * c * k * k, 0.01);
    using bias = buf(o);
    using y = buf(n * o * h * w);
    using dx = buf(n * c * h * w);
    using dw = buf(o * c * k * k);
    using db = buf(o);
    using op = new WasmOp(e, CONV2D, 'bench conv3x3', {
      c, h, w, o, kh: k, kw: k, sh: 1, sw: 1, pt: 1, pl: 1, dh: 1, dw: 1, oh: h, ow: w, activation: Activation.none, groups: 1,
    });
    const sf = best(reps, () => op.forward(n, { x: x.ptr, weight: wt.ptr, bias: bias.ptr, y: y.ptr }));
    rows.push({ name: 'conv3x3-fwd', impl: 'wasmcnn', threads, build, unit: 'GFLOPS', value: CONV_FLOPS / sf / 1e9 });
    // Input and weight gradients: two GEMMs the size of the forward one.
    const io = { x: x.ptr, weight: wt.ptr, dy: y.ptr, dx: dx.ptr, dweight: dw.ptr, dbias: db.ptr };
    const sb = best(reps, () => op.backward(n, io));
    rows.push({ name: 'conv3x3-bwd', impl: 'wasmcnn', threads, build, unit: 'GFLOPS', value: (2 * CONV_FLOPS) / sb / 1e9 });
  }
  {
    const n = 10_000_000;
    using p = buf(n);
    using g = buf(n, 0.01);
    using m = buf(n, 0);
    using v = buf(n, 0);
    let step = 0;
    const sa = best(reps, () => ex.wcnn_adam_step(p.ptr, g.ptr, m.ptr, v.ptr, 0, n, 1e-3, 0.9, 0.999, 1e-8, 0, ++step));
    // Bytes it must touch: read p, g, m, v; write p, m, v.
    rows.push({ name: 'adam-step-10M', impl: 'wasmcnn', threads, build, unit: 'GB/s', value: (7 * 4 * n) / sa / 1e9 });
    // The same bytes through memory.copy (half read, half written).
    const bytes = (7 * 4 * n) / 2;
    using src = buf(bytes / 4);
    using dst = buf(bytes / 4);
    const sc = best(reps, () => ex.wcnn_copy(dst.ptr, src.ptr, bytes));
    rows.push({ name: 'memcpy-10M', impl: 'wasmcnn', threads, build, unit: 'GB/s', value: (2 * bytes) / sc / 1e9 });
  }
  for (const s of DW.strides) {
    const { n, c, h, w } = DW;
    const o = dwOut(s);
    using x = buf(n * c * h * w);
    using wt = buf(c * 9, 0.1);
    using bias = buf(c);
    using y = buf(n * c * o * o);
    using op = new WasmOp(e, CONV2D, `bench depthwise3x3 s${s}`, {
      c, h, w, o: c, kh: 3, kw: 3, sh: s, sw: s, pt: 1, pl: 1, dh: 1, dw: 1, oh: o, ow: o, activation: Activation.none, groups: c,
    });
    const t = best(reps, () => op.forward(n, { x: x.ptr, weight: wt.ptr, bias: bias.ptr, y: y.ptr }));
    rows.push({ name: `depthwise3x3-fwd-s${s}`, impl: 'wasmcnn', threads, build, unit: 'GFLOPS', value: dwFlops(s) / t / 1e9 });
  }
  {
    const { n, c, inner } = BN;
    const len = n * c * inner;
    using x = buf(len);
    using dy = buf(len);
    using y = buf(len);
    using dx = buf(len);
    using p = buf(4 * c + 1); // weight, bias, running mean and var; num_batches_tracked
    p.view().fill(1, 0, 4 * c).fill(0, 4 * c);
    using saved = buf(2 * c);
    using grads = buf(2 * c);
    using op = new WasmOp(e, BATCH_NORM, 'bench batchnorm-relu', { c, inner, affine: 1, track: 1, relu: 1, cumulative: 0 }, [1e-5, 0.1]);
    op.bind({
      x: x.ptr, weight: p.ptr, bias: p.ptr + 4 * c, runningMean: p.ptr + 8 * c, runningVar: p.ptr + 12 * c, batchesTracked: p.ptr + 16 * c,
      y: y.ptr, mean: saved.ptr, rstd: saved.ptr + 4 * c, dy: dy.ptr, dx: dx.ptr, dweight: grads.ptr, dbias: grads.ptr + 4 * c,
    });
    const t = best(reps, () => {
      op.forward(n, undefined, OpFlags.TRAIN);
      op.backward(n, undefined, OpFlags.TRAIN);
    });
    rows.push({ name: 'batchnorm-relu-fwdbwd', impl: 'wasmcnn', threads, build, unit: 'GB/s', value: BN_BYTES / t / 1e9 });
    // memory.copy of the same bytes (read and written: BN_BYTES / 2 copied).
    using src = buf(BN_BYTES / 8);
    using dst = buf(BN_BYTES / 8);
    const tc = best(reps, () => ex.wcnn_copy(dst.ptr, src.ptr, BN_BYTES / 2));
    rows.push({ name: 'memcpy-batchnorm-bytes', impl: 'wasmcnn', threads, build, unit: 'GB/s', value: BN_BYTES / tc / 1e9 });
  }
  return rows;
}

/** tfjs-backend-wasm (XNNPACK) forward kernels on `threads` threads. */
export async function tfjsWasmKernels(threads: number, reps: number): Promise<KernelRow[]> {
  tf.enableProdMode();
  setWasmPaths(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url).pathname);
  setThreadsCount(threads);
  if (!(await tf.setBackend('wasm')) || tf.getBackend() !== 'wasm') {
    throw new Error(`tfjs-backend-wasm did not initialise (backend is ${tf.getBackend()})`);
  }
  await tf.ready();
  const rows: KernelRow[] = [];
  const build = 'xnnpack-simd';
  {
    const n = 1024;
    const [a, b] = [tf.randomNormal([n, n], 0, 1, 'float32', 1), tf.randomNormal([n, n], 0, 1, 'float32', 2)];
    // Not inside tf.tidy: reading data back inside tidy measured 7× slower here.
    const s = best(reps, () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    });
    rows.push({ name: 'sgemm-1024', impl: 'tfjs-wasm', threads, build, unit: 'GFLOPS', value: (2 * n ** 3) / s / 1e9 });
    tf.dispose([a, b]);
  }
  {
    const { n, c, h, w, o, k } = CONV;
    const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 3) as tf.Tensor4D; // NHWC: tfjs's native layout
    const f = tf.randomNormal([k, k, c, o], 0, 0.1, 'float32', 4) as tf.Tensor4D;
    const s = best(reps, () => {
      const y = tf.conv2d(x, f, 1, 'same');
      y.dataSync();
      y.dispose();
    });
    rows.push({ name: 'conv3x3-fwd', impl: 'tfjs-wasm', threads, build, unit: 'GFLOPS', value: CONV_FLOPS / s / 1e9 });
    tf.dispose([x, f]);
  }
  for (const st of DW.strides) {
    const { n, c, h, w } = DW;
    const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 5) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, c, 1], 0, 0.1, 'float32', 6) as tf.Tensor4D;
    // Explicit padding 1 on every side: the same outputs as ours (TF's 'same' pads stride 2 asymmetrically).
    const pad = [[0, 0], [1, 1], [1, 1], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
    const s = best(reps, () => {
      const y = tf.depthwiseConv2d(x, f, st, pad);
      y.dataSync();
      y.dispose();
    });
    rows.push({ name: `depthwise3x3-fwd-s${st}`, impl: 'tfjs-wasm', threads, build, unit: 'GFLOPS', value: dwFlops(st) / s / 1e9 });
    tf.dispose([x, f]);
  }
  return rows;
}
