// The cost of the step guard (issue 11): before each step fit copies the parameters, the buffers (BatchNorm's
// running statistics) and the optimizer's state so that a step that goes non-finite can be undone. Timed
// here on its own (StepGuard.save, Adam's state) beside a plain training step of the same model and batch.
import type { Engine, ModelSpec } from '../ts/src/index.js';
import { StepGuard } from '../ts/src/train/non-finite.js';
import { unit } from '../test/interop-weights.js';

export async function stepGuardCost(engine: Engine, spec: ModelSpec, batch: number, steps = 6): Promise<{ saveMs: number; stepMs: number }> {
  using model = engine.model(spec);
  const sample = spec.inputShape.reduce((a, b) => a * b, 1);
  const x = unit('bench', batch * steps * sample);
  const y = Array.from({ length: batch * steps }, (_, i) => i % 10);
  using opt = engine.optimizer({ type: 'adam', lr: 1e-3 }, model);
  const opts = { batchSize: batch, optimizer: opt, shuffle: false, divergence: false } as const;
  await model.fit(x.subarray(0, batch * sample), y.slice(0, batch), opts);
  let t0 = performance.now();
  await model.fit(x, y, opts);
  const stepMs = (performance.now() - t0) / steps;
  const guard = new StepGuard(model, opt);
  const reps = 50;
  t0 = performance.now();
  for (let i = 0; i < reps; i++) guard.save();
  const saveMs = (performance.now() - t0) / reps;
  return { saveMs, stepMs };
}
