// Smoke check for the anchor benchmarks.
//   npx tsx bench/anchors/check.ts            → one JSON line per anchor (samples/s)
//   npx tsx bench/anchors/check.ts --verify   → also shows each anchor's loss going down
import * as tf from '@tensorflow/tfjs-core';

import { loadMnist } from '../../examples/mnist-data.js';
import { convnetjsLenetTrain, makeConvnetjsLenet, toConvnetjsVols } from './convnetjs.js';
import { tfjsLenetLossCurve, tfjsLenetTrain } from './tfjs.js';

// tfjs's PROD flag only gates its console warnings (e.g. the "install tfjs-node" banner); no effect on compute.
tf.enableProdMode();

const BATCH = 64;
const mnist = loadMnist(1, 8000, 2000);
const train = { images: mnist.trainImages, labels: mnist.trainLabels };

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const fmt = (x: number) => x.toFixed(4);

if (process.argv.includes('--verify')) {
  // ConvNetJS: 2000 samples (31 Adam steps), per-batch mean loss, then accuracy on 500 test digits.
  const { net, trainer } = makeConvnetjsLenet(BATCH);
  console.log(
    'convnetjs layers:',
    net.layers.map((l) => `${l.layer_type}(${l.out_sx}x${l.out_sy}x${l.out_depth})`).join(' → '),
  );
  const vols = toConvnetjsVols(train.images, 2000);
  const batchLoss: number[] = [];
  let acc: number[] = [];
  vols.forEach((v, i) => {
    acc.push(trainer.train(v, train.labels[i]));
    if (acc.length === BATCH) {
      batchLoss.push(mean(acc));
      acc = [];
    }
  });
  const testVols = toConvnetjsVols(mnist.testImages, 500);
  let correct = 0;
  testVols.forEach((v, i) => {
    const p = net.forward(v, false).w;
    let best = 0;
    for (let c = 1; c < 10; c++) if (p[c] > p[best]) best = c;
    if (best === mnist.testLabels[i]) correct++;
  });
  console.log(
    `convnetjs verify: first batch loss ${fmt(batchLoss[0])}, last batch loss ${fmt(batchLoss[batchLoss.length - 1])}, ` +
      `first-5 mean ${fmt(mean(batchLoss.slice(0, 5)))}, last-5 mean ${fmt(mean(batchLoss.slice(-5)))}, ` +
      `test acc (500) ${(correct / 5).toFixed(1)}%`,
  );

  // tfjs-cpu is slow, so fewer steps: 12 batches (768 samples).
  const before = tf.memory().numTensors;
  const tfLoss = await tfjsLenetLossCurve(train, BATCH, 12);
  console.log(
    `tfjs-cpu verify: first batch loss ${fmt(tfLoss[0])}, last batch loss ${fmt(tfLoss[tfLoss.length - 1])}, ` +
      `first-3 mean ${fmt(mean(tfLoss.slice(0, 3)))}, last-3 mean ${fmt(mean(tfLoss.slice(-3)))}, ` +
      `tensors leaked ${tf.memory().numTensors - before}`,
  );
}

console.log(JSON.stringify(convnetjsLenetTrain(train, { batchSize: BATCH, samples: 640 })));
const before = tf.memory().numTensors;
console.log(JSON.stringify(await tfjsLenetTrain(train, { batchSize: BATCH, samples: 192, backend: 'cpu' })));
const leaked = tf.memory().numTensors - before;
if (leaked !== 0) console.error(`tfjs-cpu: ${leaked} tensors leaked`);
