// The wasm module's exports, typed. Pointers and sizes are i32 byte offsets / counts; hyper-parameters f64.
// Keep in sync with crates/wasm/src/exports.rs.

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
  wcnn_adagrad_step(p: Ptr, g: Ptr, sum: Ptr, n: number, lr: number, lrDecay: number, weightDecay: number, eps: number, step: number): void;
  wcnn_rmsprop_step(
    p: Ptr, g: Ptr, squareAvg: Ptr, gradAvg: Ptr, momentumBuf: Ptr, n: number,
    lr: number, alpha: number, eps: number, weightDecay: number, momentum: number,
  ): void;
  wcnn_sgemm(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr): void;
  wcnn_copy(dst: Ptr, src: Ptr, bytes: number): void;
  wcnn_adam_step(
    p: Ptr, g: Ptr, expAvg: Ptr, expAvgSq: Ptr, maxExpAvgSq: Ptr, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void;
}

export const REQUIRED_EXPORTS: readonly (keyof WasmExports)[] = [
  'memory', 'wcnn_alloc', 'wcnn_free', 'wcnn_live_bytes', 'wcnn_simd128', 'wcnn_relaxed_simd', 'wcnn_first_non_finite',
  'wcnn_conv2d_forward', 'wcnn_conv2d_backward', 'wcnn_maxpool2d_forward', 'wcnn_maxpool2d_backward',
  'wcnn_dense_forward', 'wcnn_dense_backward', 'wcnn_relu_forward', 'wcnn_relu_backward',
  'wcnn_softmax_cross_entropy', 'wcnn_adagrad_step', 'wcnn_rmsprop_step', 'wcnn_adam_step', 'wcnn_sgemm', 'wcnn_copy',
];
