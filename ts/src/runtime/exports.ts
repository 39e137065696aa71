// The wasm module's exports, typed. Pointers and sizes are i32 byte offsets / counts; hyper-parameters f64.
// Keep in sync with crates/wasm/src/exports.rs and crates/wasm/src/optim_exports.rs.

type Ptr = number;

export interface WasmExports {
  readonly memory: WebAssembly.Memory;
  wcnn_alloc(bytes: number): Ptr;
  wcnn_free(p: Ptr, bytes: number): void;
  wcnn_live_bytes(): number;
  wcnn_simd128(): number;
  wcnn_relaxed_simd(): number;
  wcnn_first_non_finite(p: Ptr, n: number): number;
  wcnn_conv2d_forward(
    n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, dh: number, dw: number, oh: number, ow: number,
    x: Ptr, weight: Ptr, bias: Ptr, relu: number, y: Ptr,
  ): void;
  /**
   * The NHWC layout experiment (issue #4; bench/kernels.ts): `wcnn_conv2d_forward` without the fused ReLU on
   * x as n·h·w·c and y as n·oh·ow·o (weights OIHW). Optional: not part of the library's API.
   */
  wcnn_conv2d_forward_nhwc?(
    n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, dh: number, dw: number, oh: number, ow: number,
    x: Ptr, weight: Ptr, bias: Ptr, y: Ptr,
  ): void;
  /** y[b][j][i] = x[b][i][j] for n matrices of rows × cols (NCHW ↔ NHWC), measured beside it. Optional. */
  wcnn_transpose_batched?(n: number, rows: number, cols: number, x: Ptr, y: Ptr): void;
  wcnn_conv2d_backward(
    n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, dh: number, dw: number, oh: number, ow: number,
    x: Ptr, weight: Ptr, reluY: Ptr, dy: Ptr, dx: Ptr, dweight: Ptr, dbias: Ptr, accumulate: number,
  ): void;
  wcnn_maxpool2d_forward(
    n: number, c: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, dh: number, dw: number, oh: number, ow: number,
    x: Ptr, y: Ptr, argmax: Ptr,
  ): void;
  wcnn_maxpool2d_backward(
    n: number, c: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number,
    pt: number, pl: number, dh: number, dw: number, oh: number, ow: number,
    dy: Ptr, argmax: Ptr, dx: Ptr,
  ): void;
  wcnn_dense_forward(batch: number, inp: number, out: number, x: Ptr, weight: Ptr, bias: Ptr, relu: number, y: Ptr): void;
  wcnn_dense_backward(
    batch: number, inp: number, out: number, x: Ptr, weight: Ptr, reluY: Ptr, dy: Ptr,
    dx: Ptr, dweight: Ptr, dbias: Ptr, accumulate: number,
  ): void;
  wcnn_relu_forward(x: Ptr, y: Ptr, n: number): void;
  wcnn_relu_backward(y: Ptr, dy: Ptr, dx: Ptr, n: number): void;
  wcnn_softmax_cross_entropy(batch: number, classes: number, logits: Ptr, labels: Ptr, dlogits: Ptr): number;
  wcnn_sgemm(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr): void;
  wcnn_copy(dst: Ptr, src: Ptr, bytes: number): void;
  // ---- optimizers (crates/wasm/src/optim_exports.rs) ----
  // Flags are i32 (0 = off); a null pointer is an absent optional slot; `delta`, when not null, receives
  // p_new − p_old per element. The trailing flags and `delta` may be omitted (JS passes 0): PyTorch's
  // behaviour, no telemetry.
  wcnn_adagrad_step(
    p: Ptr, g: Ptr, sum: Ptr, n: number, lr: number, lrDecay: number, weightDecay: number, eps: number, step: number,
    maximize?: number, epsInside?: number, delta?: Ptr,
  ): void;
  /** Centered when `gradAvg` is not null; `momentumBuf` given exactly when momentum > 0. */
  wcnn_rmsprop_step(
    p: Ptr, g: Ptr, squareAvg: Ptr, gradAvg: Ptr, momentumBuf: Ptr, n: number,
    lr: number, alpha: number, eps: number, weightDecay: number, momentum: number,
    maximize?: number, epsInside?: number, lrInMomentum?: number, delta?: Ptr,
  ): void;
  /** AMSGrad when `maxExpAvgSq` is not null. */
  wcnn_adam_step(
    p: Ptr, g: Ptr, expAvg: Ptr, expAvgSq: Ptr, maxExpAvgSq: Ptr, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
    maximize?: number, epsInside?: number, delta?: Ptr,
  ): void;
  /** As `wcnn_adam_step`, with decoupled weight decay p ← p·(1 − lr·wd) first. */
  wcnn_adamw_step(
    p: Ptr, g: Ptr, expAvg: Ptr, expAvgSq: Ptr, maxExpAvgSq: Ptr, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
    maximize?: number, epsInside?: number, delta?: Ptr,
  ): void;
  /** `momentumBuf` given exactly when momentum > 0; step ≤ 1 initialises it with the gradient. */
  wcnn_sgd_step(
    p: Ptr, g: Ptr, momentumBuf: Ptr, n: number,
    lr: number, momentum: number, dampening: number, weightDecay: number, step: number,
    nesterov?: number, maximize?: number, delta?: Ptr,
  ): void;
  wcnn_adamax_step(
    p: Ptr, g: Ptr, expAvg: Ptr, expInf: Ptr, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
    maximize?: number, delta?: Ptr,
  ): void;
  wcnn_adadelta_step(
    p: Ptr, g: Ptr, squareAvg: Ptr, accDelta: Ptr, n: number,
    lr: number, rho: number, eps: number, weightDecay: number, maximize?: number, delta?: Ptr,
  ): void;
  /**
   * Factored (rows × cols = n) when `expAvgSqRow` is not null, else the full `expAvgSq`; first moment when
   * `expAvg` is not null. `lr` is used only when `relativeStep` is 0. Returns the step size lrₜ it used.
   */
  wcnn_adafactor_step(
    p: Ptr, g: Ptr, expAvgSqRow: Ptr, expAvgSqCol: Ptr, expAvgSq: Ptr, expAvg: Ptr, n: number, rows: number, cols: number,
    lr: number, eps1: number, eps2: number, clipThreshold: number, decayRate: number, beta1: number, weightDecay: number,
    step: number, relativeStep: number, scaleParameter: number, warmupInit: number, maximize?: number, delta?: Ptr,
  ): number;
  /** slow ← slow + α·(fast − slow); fast ← slow. */
  wcnn_lookahead_sync(fast: Ptr, slow: Ptr, n: number, alpha: number, delta?: Ptr): void;
  /** Writes 6 f64 to `out`: Σg², Σp², Σδ², min|δ|, max|δ|, Σ|δ| (null inputs count as absent). */
  wcnn_range_stats(g: Ptr, p: Ptr, delta: Ptr, n: number, out: Ptr): void;
  wcnn_sum_squares(x: Ptr, n: number): number;
  wcnn_scale(x: Ptr, n: number, s: number): void;
  wcnn_clamp(x: Ptr, n: number, lo: number, hi: number): void;
  wcnn_add_into(acc: Ptr, x: Ptr, n: number): void;
  // The run-table optimizers (crates/wasm/src/optim_table_exports.rs gives each argument list): p, g, n,
  // runs (nruns × 5 f64), nruns, state slots, scalars (f64), hyper-parameters, flags, delta, out.
  wcnn_radam_step(...args: number[]): void;
  wcnn_nadam_step(...args: number[]): void;
  wcnn_adabelief_step(...args: number[]): void;
  wcnn_lion_step(...args: number[]): void;
  wcnn_lamb_step(...args: number[]): void;
  wcnn_lars_step(...args: number[]): void;
  /** Also takes each run's group (nruns f64) and the group count after the run table. */
  wcnn_swats_step(...args: number[]): void;
  wcnn_prodigy_step(...args: number[]): void;
  wcnn_dadapt_adam_step(...args: number[]): void;
  wcnn_dadapt_sgd_step(...args: number[]): void;
  wcnn_dadapt_adagrad_step(...args: number[]): void;
  wcnn_schedulefree_step(...args: number[]): void;
  /** p ← lerp(p, z, w) over the runs: Schedule-Free's eval (w = 1 − 1/β) and train (w = 1 − β) swaps. */
  wcnn_schedulefree_swap(p: Ptr, z: Ptr, n: number, runs: Ptr, nruns: number, w: number): void;
}

export const REQUIRED_EXPORTS: readonly (keyof WasmExports)[] = [
  'memory', 'wcnn_alloc', 'wcnn_free', 'wcnn_live_bytes', 'wcnn_simd128', 'wcnn_relaxed_simd', 'wcnn_first_non_finite',
  'wcnn_conv2d_forward', 'wcnn_conv2d_backward', 'wcnn_maxpool2d_forward', 'wcnn_maxpool2d_backward',
  'wcnn_dense_forward', 'wcnn_dense_backward', 'wcnn_relu_forward', 'wcnn_relu_backward',
  'wcnn_softmax_cross_entropy', 'wcnn_sgemm', 'wcnn_copy',
  'wcnn_adagrad_step', 'wcnn_rmsprop_step', 'wcnn_adam_step', 'wcnn_adamw_step', 'wcnn_sgd_step', 'wcnn_adamax_step',
  'wcnn_adadelta_step', 'wcnn_adafactor_step', 'wcnn_lookahead_sync', 'wcnn_range_stats', 'wcnn_sum_squares',
  'wcnn_scale', 'wcnn_clamp', 'wcnn_add_into',
  'wcnn_radam_step', 'wcnn_nadam_step', 'wcnn_adabelief_step', 'wcnn_lion_step', 'wcnn_lamb_step', 'wcnn_lars_step', 'wcnn_swats_step',
  'wcnn_prodigy_step', 'wcnn_dadapt_adam_step', 'wcnn_dadapt_sgd_step', 'wcnn_dadapt_adagrad_step', 'wcnn_schedulefree_step',
  'wcnn_schedulefree_swap',
];
