// For gen_resnet_mnist.py: what PyTorch needs to train the same ResNet from the same start — the initial
// state_dict, the split with its shifted copies (normalised digits), and each epoch's sample order (fit's
// seeded shuffle).
// Usage: npx tsx test/golden/resnet-mnist-export.ts <out-dir>
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, serializeSafetensors } from '../../ts/src/index.js';
import { Rng } from '../../ts/src/nn/rng.js';
import { DEPTH, EPOCHS, FIT, mnistSet, SPEC, SPLIT } from '../resnet-mnist-setup.js';

const out = process.argv[2];
mkdirSync(out, { recursive: true });
const d = mnistSet();
const train = d.trainLabels.length;
const engine = await init({ threads: 1 });
const model = engine.model(SPEC);
writeFileSync(join(out, 'init.safetensors'), model.saveWeights());
// fit's order: one Rng(seed) permutation per epoch.
const rng = new Rng(FIT.seed);
const orders = Array.from({ length: EPOCHS }, () => Array.from(rng.permutation(train), BigInt));
writeFileSync(
  join(out, 'data.safetensors'),
  serializeSafetensors({
    train_x: { dtype: 'F32', shape: [train, 1, 28, 28], data: d.trainImages },
    train_y: { dtype: 'I64', shape: [train], data: Array.from(d.trainLabels, BigInt) },
    test_x: { dtype: 'F32', shape: [SPLIT.test, 1, 28, 28], data: d.testImages },
    test_y: { dtype: 'I64', shape: [SPLIT.test], data: Array.from(d.testLabels, BigInt) },
    orders: { dtype: 'I64', shape: [EPOCHS, train], data: orders.flat() },
  }),
);
console.log(JSON.stringify({ depth: DEPTH, spec: SPEC, fit: FIT }));
await engine.terminate();
