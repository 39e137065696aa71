// Optimizer step throughput at 10M parameters, per optimizer (issue #5): the public API's fused step over
// one flat buffer, on the single-threaded and the threaded build, interleaved, best round kept.
import type { Engine, OptimizerConfig } from '../ts/src/index.js';
import { createOptimizer } from '../ts/src/optim/index.js';

export const OPTIMIZER_BENCH: { label: string; cfg: OptimizerConfig; matrix?: boolean }[] = [
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
  // Issue 14. LAMB and LARS step a 2-D tensor (a 1-D one is excluded from adaptation by default); LARS with
  // weight decay, without which it has no trust ratio.
  { label: 'radam', cfg: { type: 'radam' } },
  { label: 'nadam', cfg: { type: 'nadam' } },
  { label: 'adabelief', cfg: { type: 'adabelief' } },
  { label: 'lion', cfg: { type: 'lion' } },
  { label: 'lamb', cfg: { type: 'lamb' }, matrix: true },
  { label: 'lars (momentum 0.9, wd 1e-4)', cfg: { type: 'lars', momentum: 0.9, weightDecay: 1e-4 }, matrix: true },
  // SWATS's timed step is its Adam phase (the fused pass with its two dot products); no switch this early.
  { label: 'swats (adam phase)', cfg: { type: 'swats' } },
  { label: 'prodigy', cfg: { type: 'prodigy' } },
  { label: 'dadapt_adam', cfg: { type: 'dadapt_adam' } },
  { label: 'dadapt_sgd', cfg: { type: 'dadapt_sgd' } },
  { label: 'dadapt_adagrad', cfg: { type: 'dadapt_adagrad' } },
  { label: 'schedulefree_adamw', cfg: { type: 'schedulefree_adamw' } },
  { label: 'schedulefree_sgd', cfg: { type: 'schedulefree_sgd' } },
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
  const matrix = { size: N, tensors: [{ name: 'w', offset: 0, length: N, shape: [N / 1000, 1000] }] };
  for (const { label, cfg, matrix: m } of OPTIMIZER_BENCH) {
    using opt = createOptimizer(engine, cfg, m ? matrix : N);
    opt.step(p, g);
    const t0 = performance.now();
    opt.step(p, g);
    const s = (performance.now() - t0) / 1000;
    rows.push({ name: 'optimizer-step-10M', impl: 'wasmcnn', optimizer: label, threads, build, unit: 'Mparam/s', value: N / s / 1e6 });
  }
  return rows;
}
