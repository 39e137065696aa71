// Issue 11's sizes: every size a call computes is checked against what one wasm32 buffer can hold and
// refused with a RangeError naming the layer or ops.* function, the size and the limit, before anything is
// allocated; a refused call leaves the engine working (its kernels' scratch too). In the threaded build a
// worker that traps wakes the waiting caller (no hang) and the engine refuses use from then on.
import { describe, expect, it } from 'vitest';
import { EngineTrapError, init, ops, type Engine } from '../ts/src/index.js';
import { CONV2D, DENSE } from '../ts/src/runtime/op-defs.js';
import { Activation, exportsHost, OpError, WasmOp } from '../ts/src/runtime/op.js';
import { engine, noise } from './helpers.js';

const LIMIT = /more than one buffer of this wasm32 build can hold \(2 GiB\)|beyond the 2 GiB one buffer/;

/** A 1-sample, 1-channel conv of a `w`-wide row with a 1×`k` kernel in f64: the reference after refusals. */
function conv1d(x: Float32Array, k: Float32Array, pad: number): number[] {
  const out = x.length + 2 * pad - k.length + 1;
  return Array.from({ length: out }, (_, o) => k.reduce((s, kv, j) => s + kv * (x[o + j - pad] ?? 0), 0));
}

/** An ordinary conv through ops.conv2d, checked against the f64 definition (float32 rounding of 5 terms). */
function ordinaryConv(e: Engine): void {
  const x = noise(12, 1);
  const weight = noise(5, 2);
  const { y, shape } = ops.conv2d(e, { x, xShape: [1, 1, 1, 12], weight, weightShape: [1, 1, 1, 5], padding: [0, 2] });
  expect(shape).toEqual([1, 1, 1, 12]);
  conv1d(x, weight, 2).forEach((v, i) => expect(Math.abs(y[i] - v)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v))));
}

/** `f` throws `type` matching every pattern, and leaves allocations and operators as they were. */
async function refuses(e: Engine, f: () => unknown, type: typeof RangeError | typeof TypeError, ...patterns: RegExp[]): Promise<void> {
  const [live, ops_] = [e.liveBytes(), e.exports.wcnn_op_count()];
  let thrown: unknown;
  try {
    await f();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(type);
  for (const p of patterns) expect((thrown as Error).message).toMatch(p);
  expect(e.liveBytes()).toBe(live);
  expect(e.exports.wcnn_op_count()).toBe(ops_);
  ordinaryConv(e);
}

const conv = (pad: number, stride: [number, number] = [1, 1]) => ({
  x: new Float32Array(1), xShape: [1, 1, 1, 1] as const, weight: new Float32Array(9), weightShape: [1, 1, 3, 3] as const, padding: pad, stride,
});
const convAttrs = { c: 1, h: 1, w: 1, o: 1, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, dh: 1, dw: 1, oh: 1, ow: 1, activation: Activation.none, groups: 1 };

describe.each([
  { label: 'simd', threads: 1 },
  { label: 'threaded', threads: 2 },
])('sizes on the $label build', ({ threads }) => {
  const get = () => engine({ threads, relaxedSimd: false });

  it('padding 16384 on a 1×1 input is refused (the output, or with a tall stride the padded sample), then convs work', async () => {
    const e = await get();
    // Stride 1: a 32767² output (4 GiB).
    await refuses(e, () => ops.conv2d(e, conv(16384)), RangeError, /^conv2d: /, /1,073,676,289 floats/, /4 GiB/, LIMIT);
    // Stride [8192, 1]: a 4 × 32767 output, but a 24579 × 32769 padded copy of the sample (Rust refuses it).
    await refuses(e, () => ops.conv2d(e, conv(16384, [8192, 1])), RangeError,
      /^conv2d: the kernel's scratch needs 3 GiB \(805,429,259 floats\), with pt \(top padding\) = 16384, /, LIMIT);
  });

  it('conv outputs of 2²⁹ … 2³¹ floats are refused before anything is allocated; 2²⁸ is an operator', async () => {
    const e = await get();
    for (const [pad, floats] of [[11585, '536,895,241'], [16384, '1,073,807,361'], [23170, '2,147,488,281']] as const) {
      const a = { x: new Float32Array(1), xShape: [1, 1, 1, 1] as const, weight: new Float32Array(1), weightShape: [1, 1, 1, 1] as const, padding: pad };
      await refuses(e, () => ops.conv2d(e, a), RangeError, /^conv2d: /, new RegExp(`${floats} floats`), LIMIT);
    }
    // 2²⁸ floats (1 GiB) per sample fit one buffer: the operator takes it (nothing of that size is allocated).
    const op = new WasmOp(e, CONV2D, 'conv 2^28', { ...convAttrs, w: 2 ** 28, ow: 2 ** 28 });
    op.dispose();
  });

  it('a dense 65536 × 32768 weight is refused at once, on both builds (no hang)', async () => {
    const e = await get();
    const t0 = performance.now();
    const a = { x: new Float32Array(65536), xShape: [1, 65536] as const, weight: new Float32Array(1), weightShape: [32768, 65536] as const };
    await refuses(e, () => ops.dense(e, a), RangeError, /^dense: weight \[32768, 65536\]/, /2,147,483,648 floats \(8 GiB\)/, LIMIT);
    // The same through the operator: Rust refuses the parameters.
    await refuses(e, () => new WasmOp(e, DENSE, "dense 'big'", { in: 65536, out: 32768, activation: 0 }), RangeError,
      /^dense 'big': a parameter tensor needs 8 GiB \(2,147,483,648 floats\), more than one buffer of this wasm32 build can hold \(2 GiB\)/);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('batch × per-sample sizes are checked per call: a conv with padding 8191 at batch 5', async () => {
    const e = await get();
    // 16383² floats per sample (1 GiB) fit; five samples (5 GiB) do not, and wrap a 32-bit byte count.
    using op = new WasmOp(e, CONV2D, "conv2d 'padded'", { ...convAttrs, pt: 8191, pl: 8191, oh: 16383, ow: 16383 });
    using buf = e.alloc(16);
    await refuses(e, () => op.forward(5, { x: buf.ptr, weight: buf.ptr, y: buf.ptr + 32 }), RangeError,
      /^conv2d 'padded' forward: at batch 5, the output batch needs 5 GiB \(1,342,013,445 floats\), /, LIMIT);
    await refuses(e, () => op.backward(5, { x: buf.ptr, weight: buf.ptr, dy: buf.ptr, dweight: buf.ptr + 32 }), RangeError, /at batch 5, the input batch|at batch 5, the output batch/);
  });

  it('a buffer outside memory, missing, misaligned or overlapping its output is refused by name', async () => {
    const e = await get();
    using op = new WasmOp(e, DENSE, "dense 'd'", { in: 4, out: 2, activation: 0 });
    using x = e.alloc(8);
    using w = e.alloc(8);
    using y = e.alloc(4);
    const end = e.exports.memory.buffer.byteLength;
    const run = (io: Record<string, number>) => () => op.forward(2, io);
    op.forward(2, { x: x.ptr, weight: w.ptr, y: y.ptr });
    await refuses(e, run({ x: x.ptr, weight: end - 16, y: y.ptr }), RangeError, /^dense 'd' forward: buffer 'weight' of 32 B is missing, misaligned, outside wasm memory/);
    await refuses(e, run({ x: x.ptr, weight: w.ptr }), RangeError, /buffer 'y' of 16 B is missing/);
    await refuses(e, run({ x: x.ptr, weight: w.ptr + 2, y: y.ptr }), RangeError, /buffer 'weight' of 32 B/);
    await refuses(e, run({ x: x.ptr, weight: w.ptr, y: x.ptr + 4 }), RangeError, /buffer 'y' of 16 B .* overlaps a buffer it writes/);
    await refuses(e, () => op.forward(2, { x: x.ptr, weight: w.ptr, y: y.ptr }, 1 << 7), RangeError, /flags 0x80 has bits this build does not know/);
  });

  it('refusals leave the engine training, and the kernels\' scratch stays flat once grown', async () => {
    const e = await get();
    await refuses(e, () => ops.conv2d(e, conv(16384, [8192, 1])), RangeError, /kernel's scratch/);
    const train = async (en: Engine, times: number) => {
      using m = en.sequential({ inputShape: [1, 8, 8], layers: [{ type: 'conv2d', filters: 3, kernelSize: 3, padding: 1 }, { type: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 2 }], seed: 1 });
      const x = noise(6 * 64, 3);
      const y = [0, 1, 1, 0, 1, 0];
      const losses: number[] = [];
      const scratch: number[] = [];
      for (let i = 0; i < times; i++) {
        const h = await m.fit(x, y, { epochs: 2, batchSize: 3, optimizer: { type: 'sgd', lr: 0.1 } });
        losses.push(h.epochs[0].loss, h.epochs.at(-1)!.loss);
        scratch.push(en.exports.wcnn_scratch_bytes());
      }
      return { losses, scratch };
    };
    const { losses, scratch } = await train(e, 6);
    expect(scratch[1]).toBeGreaterThan(0);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    if (threads === 1) {
      // One thread: grown by the first fits, then the same bytes.
      expect(scratch.slice(1)).toEqual(scratch.slice(1).map(() => scratch[1]));
    } else {
      // Each thread's scratch grows to the largest task it happened to run, so the total may still move
      // once or twice; it is bounded by every thread holding what one thread needs for the whole workload.
      const one = await engine({ threads: 1, relaxedSimd: false });
      const single = (await train(one, 2)).scratch[1];
      for (const s of scratch) expect(s).toBeLessThanOrEqual((threads + 1) * single);
    }
  });
});

describe('a worker that traps (threaded build)', () => {
  it('wakes the waiting caller within a bounded time, and the engine refuses use from then on', async () => {
    const e = await init({ threads: 2, relaxedSimd: false });
    expect(e.info().threads).toBe(2);
    using m = e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 2 }], seed: 1 });
    await m.fit(new Float32Array(8), [0, 1]);
    const t0 = performance.now();
    // Two tasks on the pool; the one on a worker traps. Before, the caller waited for it forever.
    expect(e.exports.wcnn_debug_trap(1)).toBe(OpError.PoolDead);
    expect(performance.now() - t0).toBeLessThan(5000);
    // The next operator call sees the dead pool and poisons the engine; every later use refuses.
    expect(() => ops.relu(e, new Float32Array(4))).toThrow(EngineTrapError);
    expect(() => ops.relu(e, new Float32Array(4))).toThrow(/this engine trapped in relu \(a worker thread trapped\)/);
    expect(e.poisoned).toBe(true);
    await expect(m.fit(new Float32Array(8), [0, 1])).rejects.toThrow(EngineTrapError);
    expect(() => e.alloc(4)).toThrow(EngineTrapError);
    expect(performance.now() - t0).toBeLessThan(10_000);
    await e.terminate();
  });

  it('terminate retires the heap first: frees after it (a late dispose, a finalizer) return at once', async () => {
    // A killed worker may hold the allocator's spin lock; a free into its heap would spin forever.
    for (let i = 0; i < 20; i++) {
      const e = await init({ threads: 2, relaxedSimd: false });
      const m = e.sequential({ inputShape: [1, 8, 8], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3 }, { type: 'flatten' }, { type: 'dense', units: 2 }], seed: i });
      await m.fit(noise(4 * 64, i), [0, 1, 0, 1], { batchSize: 2 });
      // An operator built from the bare exports (as a layer without its engine): its host cannot refuse.
      const op = new WasmOp(exportsHost(e.heap.exports), DENSE, 'late', { in: 2, out: 2, activation: 0 });
      await e.terminate();
      const t0 = performance.now();
      m.dispose();
      op.dispose();
      expect(performance.now() - t0).toBeLessThan(1000);
    }
  });
});
