// The wasm module's exports, typed. Pointers and sizes are i32 byte offsets / counts; hyper-parameters f64.
// Keep in sync with crates/wasm/src/{exports,op_exports,optim_exports,threads}.rs.

type Ptr = number;

export interface WasmExports {
  readonly memory: WebAssembly.Memory;
  wcnn_alloc(bytes: number): Ptr;
  wcnn_free(p: Ptr, bytes: number): void;
  wcnn_live_bytes(): number;
  wcnn_simd128(): number;
  wcnn_relaxed_simd(): number;
  wcnn_first_non_finite(p: Ptr, n: number): number;
  /** Bytes held by the kernels' grow-only scratch (every thread's); not part of `wcnn_live_bytes`. */
  wcnn_scratch_bytes(): number;
  /** The most bytes one buffer may span (Rust's `isize::MAX` on wasm32, less the alignment). */
  wcnn_max_buffer_bytes(): number;
  // ---- operators (crates/wasm/src/op_exports.rs; layouts in crates/core/src/operator/*.rs) ----
  // Every call returns 0 or an error code (`OpError` in op.ts); create returns a handle ≥ 1 or -code.
  wcnn_abi_version(): number;
  wcnn_op_create(kind: number, desc: Ptr, n: number, fdesc: Ptr, nf: number): number;
  /** Where to write a descriptor: 64 u32, then 64 f64 (no allocation). */
  wcnn_op_stage(): Ptr;
  /** The operator's own io block (its slot count of u32 addresses); 0 for a bad handle. */
  wcnn_op_io(op: number): Ptr;
  wcnn_op_forward(op: number, io: Ptr, batch: number, flags: number): number;
  wcnn_op_backward(op: number, io: Ptr, batch: number, flags: number): number;
  wcnn_op_destroy(op: number): void;
  /** Live operators (leak checks). */
  wcnn_op_count(): number;
  /** The last refusal: 0 → field or slot (-1 none), 1 → subject, 2 → bytes, 3 → the one-buffer limit. */
  wcnn_op_refusal(what: number): number;
  /** Threaded builds: a worker's JS reports that `wcnn_worker_entry` trapped (wakes the waiting caller). */
  wcnn_worker_trapped?(): void;
  /**
   * Test hook: a real trap on the calling thread (0), or (threaded builds) in a pool task on a worker (1),
   * which returns the waiting caller's status (PoolDead). The engine is unusable afterwards.
   */
  wcnn_debug_trap(inWorker: number): number;
  /** C = A·B (row-major): 0 or an error code. The bench anchor; checked like every export. */
  wcnn_sgemm(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr): number;
  /** memory.copy of `bytes`: 0, or an error code for ranges outside memory or overlapping. */
  wcnn_copy(dst: Ptr, src: Ptr, bytes: number): number;
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
  'wcnn_scratch_bytes', 'wcnn_max_buffer_bytes', 'wcnn_abi_version', 'wcnn_op_stage', 'wcnn_op_create', 'wcnn_op_io', 'wcnn_op_forward',
  'wcnn_op_backward', 'wcnn_op_destroy', 'wcnn_op_count', 'wcnn_op_refusal', 'wcnn_sgemm',
  'wcnn_copy', 'wcnn_debug_trap',
  'wcnn_adagrad_step', 'wcnn_rmsprop_step', 'wcnn_adam_step', 'wcnn_adamw_step', 'wcnn_sgd_step', 'wcnn_adamax_step',
  'wcnn_adadelta_step', 'wcnn_adafactor_step', 'wcnn_lookahead_sync', 'wcnn_range_stats', 'wcnn_sum_squares',
  'wcnn_scale', 'wcnn_clamp', 'wcnn_add_into',
  'wcnn_radam_step', 'wcnn_nadam_step', 'wcnn_adabelief_step', 'wcnn_lion_step', 'wcnn_lamb_step', 'wcnn_lars_step', 'wcnn_swats_step',
  'wcnn_prodigy_step', 'wcnn_dadapt_adam_step', 'wcnn_dadapt_sgd_step', 'wcnn_dadapt_adagrad_step', 'wcnn_schedulefree_step',
  'wcnn_schedulefree_swap',
];
