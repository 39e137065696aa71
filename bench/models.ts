// The zoo's training rows (issue 13): ResNet-20 on 32×32 at batch 64 and MobileNetV2 on 64×64 at batch 32,
// Adam (lr 1e-3), train mode, synthetic data as bench/cifar.ts's (a step's speed does not depend on pixel
// values). Also what every training row shares: the useful FLOPs of a sample, counted from the graph, and
// the check that the PyTorch anchor trains the same architecture as ours.
import { models, type Engine, type Model, type ModelSpec } from '../ts/src/index.js';
import { stateEntries, type Graph } from '../ts/src/nn/graph.js';
import type { Conv2dAttrs } from '../ts/src/nn/ops/conv2d.js';
import type { DenseAttrs } from '../ts/src/nn/ops/dense.js';

export const RESNET20 = (): ModelSpec => models.resnetCifar({ depth: 20, seed: 1 });
export const MOBILENETV2 = (): ModelSpec => models.mobilenetV2({ numClasses: 10, imageSize: 64, seed: 1 });

const synthetic = (model: Model, n: number) => ({
  x: new Float32Array(n * model.sampleSize).map((_, i) => Math.sin(i * 0.37)),
  y: Array.from({ length: n }, (_, i) => (i * 7) % model.classes),
});

/** Why `spec` cannot train on `engine` (a layer without a kernel in this build), or null when it can. */
export async function cannotTrain(engine: Engine, spec: ModelSpec): Promise<string | null> {
  try {
    using model = engine.model(spec);
    const { x, y } = synthetic(model, 2);
    await model.fit(x, y, { batchSize: 2, optimizer: { type: 'adam', lr: 1e-3 } });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Training throughput of `spec`: `warmupBatches` steps (tier-up, buffers), then one timed pass over `samples`. */
export async function wasmcnnModelTrain(engine: Engine, spec: ModelSpec, opts: { batchSize: number; samples: number; warmupBatches: number }) {
  using model = engine.model(spec);
  using opt = engine.optimizer({ type: 'adam', lr: 1e-3 }, model);
  const { x, y } = synthetic(model, opts.samples);
  const w = opts.warmupBatches * opts.batchSize;
  await model.fit(x.subarray(0, w * model.sampleSize), y.slice(0, w), { batchSize: opts.batchSize, optimizer: opt });
  const t0 = performance.now();
  await model.fit(x, y, { batchSize: opts.batchSize, optimizer: opt, shuffle: false });
  const seconds = (performance.now() - t0) / 1000;
  return { impl: 'wasmcnn' as const, samples: opts.samples, seconds, samplesPerSec: opts.samples / seconds };
}

/**
 * Useful multiply-add FLOPs of one training sample, from the graph: for every conv2d (any groups) and dense,
 * 2·MACs for the forward pass, 2·MACs for the weight gradient and 2·MACs for the input gradient, except for a
 * layer reading the model's input (no one needs that gradient; neither we nor torch compute it). MACs:
 * conv O·OH·OW·(C/groups)·KH·KW, dense in·out. BatchNorm, activations, pooling, adds and the optimizer
 * are not counted (they are memory-bound, a few % of the FLOPs). bench/cifar.ts's CIFAR_TRAIN_FLOPS by hand
 * is the same count.
 */
export function trainingFlops(g: Graph): number {
  let flops = 0;
  for (const n of g.nodes) {
    let macs = 0;
    if (n.type === 'conv2d') {
      const { window: w, filters, groups } = n.attrs as Conv2dAttrs;
      macs = filters * w.oh * w.ow * (w.c / groups) * w.kh * w.kw;
    } else if (n.type === 'dense') {
      const { inputs, units } = n.attrs as DenseAttrs;
      macs = inputs * units;
    }
    flops += 2 * macs * (n.inputs[0] === 0 ? 2 : 3);
  }
  return flops;
}

/** The first difference between our state_dict (keys, shapes, in order) and torch's, or null when equal. */
export function stateDictDiff(g: Graph, torch: [string, number[]][]): string | null {
  const ours = stateEntries(g).map((e) => [e.name, e.shape] as const);
  for (let i = 0; i < Math.max(ours.length, torch.length); i++) {
    const [a, b] = [ours[i], torch[i]];
    if (!a || !b || a[0] !== b[0] || a[1].join('×') !== b[1].join('×')) {
      const show = (e?: readonly [string, readonly number[]]) => (e ? `${e[0]} [${e[1].join(', ')}]` : 'nothing');
      return `entry ${i}: ours ${show(a)}, torch ${show(b)}`;
    }
  }
  return null;
}
