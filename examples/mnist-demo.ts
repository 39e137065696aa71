// The main job: train a LeNet-style CNN on 10,000 real MNIST digits (8,000 train / 2,000 test, seeded split)
// through the Rust → WebAssembly SIMD core, and answer the questions around the adaptive optimizers:
//   1. which learning rate? an LR range test (lrFind) per optimizer
//   2. Adagrad, RMSprop and Adam at PyTorch's default rate and at their LR-finder rate, beside Prodigy and
//      Schedule-Free AdamW untuned: final accuracy and time, on the same model, data and seed
//   3. switching strategy: Adam, then SGD with momentum once the validation loss stops improving
//   4. per layer, how the best run's optimizer adapted its steps (telemetry), and what the advisor found
//
//   npm run demo                   (EPOCHS=… to change the epochs of each run, default 6)
import { init, type LayerTelemetry, type LrFindResult, type OptimizerConfig } from '../ts/src/index.js';
import { LENET, normalize } from './mnist-demo-model.js';
import { loadMnist } from './mnist-data.js';

const SEED = 1;
const EPOCHS = Number(process.env.EPOCHS ?? 6);
const BATCH = 64;
const tty = process.stdout.isTTY === true;

/** Per-layer telemetry averaged over an epoch's steps. */
class LayerAverages {
  #sum = new Map<string, { n: number; grad: number; ratio: number; mean: number; min: number; max: number }>();
  add(t: LayerTelemetry[]): void {
    for (const l of t) {
      const a = this.#sum.get(l.layer) ?? { n: 0, grad: 0, ratio: 0, mean: 0, min: Infinity, max: 0 };
      a.n++;
      a.grad += l.gradNorm;
      a.ratio += l.updateRatio;
      a.mean += l.step.mean;
      a.min = Math.min(a.min, l.step.min);
      a.max = Math.max(a.max, l.step.max);
      this.#sum.set(l.layer, a);
    }
  }
  print(title: string, types: Map<string, string>): void {
    console.log(`    ${title}: layer          |grad|   |Δw|/|w|   step |Δp| mean  [min, max]`);
    for (const [layer, a] of this.#sum) {
      console.log(
        `      ${`${layer} (${types.get(layer) ?? '?'})`.padEnd(14)} ${(a.grad / a.n).toExponential(2).padStart(9)}  ${(a.ratio / a.n).toExponential(2).padStart(9)}` +
          `   ${(a.mean / a.n).toExponential(2).padStart(9)}  [${a.min.toExponential(1)}, ${a.max.toExponential(1)}]`,
      );
    }
    this.#sum.clear();
  }
}

function bar(done: number, total: number, width = 28): string {
  const n = Math.round((done / total) * width);
  return `[${'█'.repeat(n)}${'·'.repeat(width - n)}]`;
}

/** A sparkline of a curve (the smoothed LR-finder loss), lowest ▁ to highest █. */
function spark(v: readonly number[], width = 48): string {
  const ticks = '▁▂▃▄▅▆▇█';
  const step = Math.max(1, Math.floor(v.length / width));
  const pts = v.filter((_, i) => i % step === 0);
  const [lo, hi] = [Math.min(...pts), Math.max(...pts)];
  return pts.map((x) => ticks[Math.min(7, Math.floor(((x - lo) / (hi - lo || 1)) * 8))]).join('');
}

const engine = await init();
const info = engine.info();
const baseline = engine.liveBytes(); // worker stacks of the threaded build
console.log(`wasmcnn — build ${info.build}, ${info.threads} thread${info.threads > 1 ? 's' : ''}, SIMD128 ${info.simd ? 'on' : 'off'} (${info.reason})`);
const data = loadMnist(SEED, 8000, 2000);
normalize(data.trainImages);
normalize(data.testImages);
console.log(`MNIST: ${data.trainLabels.length} train / ${data.testLabels.length} test digits (seed ${SEED}), pixels normalised\n`);
// PyTorch's default initialisation (U(±1/√fan_in)), the one this model is usually trained from.
const spec = { inputShape: [1, 28, 28], layers: LENET, init: 'pytorch' as const, seed: SEED };
{
  using m = engine.model(spec);
  console.log(m.summary() + '\n');
}

// 1. The LR range test, per optimizer.
console.log('1. Which learning rate? The LR range test (Smith 2015, as fastai\'s lr_find), smoothed loss over 1e-7 … 10:');
const found = new Map<string, LrFindResult>();
for (const type of ['adagrad', 'rmsprop', 'adam'] as const) {
  using m = engine.model(spec);
  const r = await m.lrFind(data.trainImages, data.trainLabels, { optimizer: type, batchSize: BATCH, seed: SEED });
  found.set(type, r);
  console.log(`   ${type.padEnd(8)} ${spark(r.smoothed)}  valley ${r.suggestions.valley!.toExponential(1)}  steepest ${r.suggestions.steepest!.toExponential(1)}  min/10 ${r.suggestions.minimum!.toExponential(1)}${r.diverged ? '  (stopped: diverged)' : ''}`);
}
console.log('');

// 2. The comparison.
const DEFAULT_LR = { adagrad: 1e-2, rmsprop: 1e-2, adam: 1e-3 };
const runs: { label: string; optimizer: OptimizerConfig }[] = [];
for (const type of ['adagrad', 'rmsprop', 'adam'] as const) {
  runs.push({ label: `${type}, default lr`, optimizer: { type, lr: DEFAULT_LR[type] } });
  runs.push({ label: `${type}, lrFind lr`, optimizer: { type, lr: found.get(type)!.suggestions.valley! } });
}
runs.push({ label: 'prodigy, untuned', optimizer: { type: 'prodigy' } });
runs.push({ label: 'schedule-free AdamW', optimizer: { type: 'schedulefree_adamw' } });

console.log(`2. ${runs.length} runs of ${EPOCHS} epochs, batch ${BATCH}, the same initial weights and sample order:`);
type Result = { run: string; lr: number; epochs: number; final_loss: number; test_accuracy: number; seconds: number };
const results: Result[] = [];
let best: { result: Result; layers: LayerAverages; types: Map<string, string> } | null = null;
for (const run of runs) {
  using model = engine.model(spec);
  using optimizer = engine.optimizer(run.optimizer, model);
  const types = new Map(model.summaryRows().map((r) => [r.name, r.type]));
  const t0 = performance.now();
  const layers = new LayerAverages();
  let lossAvg = 0;
  const history = await model.fit(data.trainImages, data.trainLabels, {
    epochs: EPOCHS,
    batchSize: BATCH,
    optimizer,
    telemetry: true,
    seed: SEED,
    validationData: { x: data.testImages, y: data.testLabels },
    callbacks: {
      onBatchEnd: ({ epoch, batch, batches, loss, telemetry }) => {
        if (epoch === EPOCHS - 1) layers.add(telemetry!);
        lossAvg = batch === 0 ? loss : 0.95 * lossAvg + 0.05 * loss;
        if (tty && (batch % 4 === 0 || batch === batches - 1)) {
          process.stdout.write(`\r   ${run.label.padEnd(22)} epoch ${epoch + 1}/${EPOCHS} ${bar(batch + 1, batches)} loss ${lossAvg.toFixed(4)}`);
        }
      },
    },
  });
  if (tty) process.stdout.write('\r\x1b[2K');
  const last = history.epochs.at(-1)!;
  const result = {
    run: run.label, lr: optimizer.lastStep().lr, epochs: EPOCHS, final_loss: last.loss, test_accuracy: last.valAccuracy!, seconds: (performance.now() - t0) / 1000,
  };
  results.push(result);
  console.log(`   ${run.label.padEnd(22)} lr ${result.lr.toExponential(2)}  loss ${last.loss.toFixed(4)}  test accuracy ${(100 * last.valAccuracy!).toFixed(2)}%  (${result.seconds.toFixed(1)} s)`);
  if (!best || result.test_accuracy > best.result.test_accuracy) best = { result, layers, types };
}
console.log('\n   run                     lr (last step)   final train loss   test accuracy    time');
for (const r of results) {
  console.log(`   ${r.run.padEnd(22)}  ${r.lr.toExponential(2).padStart(14)}   ${r.final_loss.toFixed(4).padStart(16)}   ${(100 * r.test_accuracy).toFixed(2).padStart(12)}%   ${r.seconds.toFixed(1).padStart(5)} s`);
}
console.log('   (Prodigy\'s and Schedule-Free\'s "lr" is their effective rate d·lr at the last step.)\n');

// 3. Switching strategy.
console.log('3. Switching: Adam at its LR-finder rate, then SGD with momentum (cosine-annealed) once the validation loss stops improving:');
{
  using model = engine.model(spec);
  const h = await model.fit(data.trainImages, data.trainLabels, {
    epochs: EPOCHS + 2,
    batchSize: BATCH,
    seed: SEED,
    optimizer: { type: 'adam', lr: found.get('adam')!.suggestions.valley! },
    validationData: { x: data.testImages, y: data.testLabels },
    switch: { on: 'plateau', monitor: 'valLoss', patience: 1, to: { optimizer: { type: 'sgd', lr: 1e-2, momentum: 0.9 }, schedule: { type: 'cosine', tMax: EPOCHS } } },
    advisor: true,
    callbacks: { onSwitch: (s) => console.log(`   → switched at epoch ${s.epoch + 1} (step ${s.step}) from ${s.from} to ${s.to} at lr ${s.lr}: ${s.reason}`) },
  });
  for (const e of h.epochs) console.log(`   epoch ${e.epoch + 1}  lr ${e.lr.toExponential(2)}  loss ${e.loss.toFixed(4)}  test accuracy ${(100 * e.valAccuracy!).toFixed(2)}%`);
  if (h.switches.length === 0) console.log('   (no plateau: no switch)');
  console.log(`   the advisor: ${h.findings.length === 0 ? 'no findings (healthy training)' : h.findings.map((f) => `${f.kind} at step ${f.step}: ${f.message}`).join('; ')}\n`);
}

// 4. How the best run adapted, per layer.
console.log(`4. The best run (${best!.result.run}), per layer over its last epoch:`);
best!.layers.print('mean over the steps', best!.types);
const adam = results.filter((r) => r.run.startsWith('adam')).sort((a, b) => b.test_accuracy - a.test_accuracy)[0];
console.log(`\nAdam reached ${(100 * adam.test_accuracy).toFixed(2)}% test accuracy (${adam.run}; target ≥ 97%).\n`);
for (const r of results) {
  console.log(JSON.stringify({ ...r, lr: +r.lr.toPrecision(4), final_loss: +r.final_loss.toFixed(5), test_accuracy: +r.test_accuracy.toFixed(4), seconds: +r.seconds.toFixed(2) }));
}
if (engine.liveBytes() !== baseline) console.warn(`warning: ${engine.liveBytes() - baseline} bytes still allocated after disposing every model`);
await engine.terminate();
