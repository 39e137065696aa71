// Optimizer step throughput at 10M parameters, per optimizer (issue #5): the public API's fused step over
// one flat buffer, on the single-threaded and the threaded build, interleaved, best round kept.
import type { Engine, OptimizerConfig } from '../ts/src/index.js';

export const OPTIMIZER_BENCH: { label: string; cfg: OptimizerConfig }[] = [
  { label: 'sgd (momentum 0.9)', cfg: { type: 'sgd', lr: 0.01, momentum: 0.9 } },
  { label: 'adagrad', cfg: { type: 'adagrad' } },
  { label: 'rmsprop', cfg: { type: 'rmsprop' } },
  { label: 'rmsprop (keras preset)', cfg: { type: 'rmsprop', preset: 'keras' } },
  { label: 'adam', cfg: { type: 'adam' } },
  { label: 'adam (amsgrad)', cfg: { type: 'adam', amsgrad: true } },
  { label: 'adamw', cfg: { type: 'adamw' } },
  { label: 'adamax', cfg: { type: 'adamax' } },
  { label: 'adadelta', cfg: { type: 'adadelta' } },
  { label: 'adafactor (unfactored)', cfg: { type: 'adafactor' } },
  { label: 'lookahead(adam)', cfg: { type: 'lookahead', inner: { type: 'adam' } } },
];

export interface OptimizerRow {
  name: 'optimizer-step-10M';
  impl: 'wasmcnn';
  optimizer: string;
  threads: number;
  build: string;
  unit: 'Mparam/s';
  value: number;
}

const N = 10_000_000;

/** One timed step per optimizer (after a warm-up step) on `engine`; the caller interleaves rounds. */
export function optimizerSteps(engine: Engine): OptimizerRow[] {
  const { build, threads } = engine.info();
  using p = engine.alloc(N, 'bench params');
  using g = engine.alloc(N, 'bench grads');
  g.view().fill(0.01);
  const rows: OptimizerRow[] = [];
  for (const { label, cfg } of OPTIMIZER_BENCH) {
    using opt = engine.optimizer(cfg, N);
    opt.step(p, g);
    const t0 = performance.now();
    opt.step(p, g);
    const s = (performance.now() - t0) / 1000;
    rows.push({ name: 'optimizer-step-10M', impl: 'wasmcnn', optimizer: label, threads, build, unit: 'Mparam/s', value: N / s / 1e6 });
  }
  return rows;
}
