// The benchmark's training rows count the right FLOPs and compare against the right PyTorch architecture.
import { describe, expect, it } from 'vitest';
import { LENET } from '../examples/mnist-demo-model.js';
import { CIFAR_SMALL, CIFAR_TRAIN_FLOPS } from '../bench/cifar.js';
import { MOBILENETV2, RESNET20, stateDictDiff, trainingFlops } from '../bench/models.js';
import { compileGraph, type Graph } from '../ts/src/nn/graph.js';
import type { ModelSpec } from '../ts/src/nn/model-spec.js';
import { mobilenetV2 } from '../ts/src/nn/presets/mobilenet.js';
import { golden } from './helpers.js';

const graph = (s: ModelSpec): Graph => compileGraph(s.inputShape, s.layers);

// Forward multiply-adds of one sample, counted by forward hooks on every nn.Conv2d (output numel ·
// in_channels/groups · kh · kw) and nn.Linear (in · out) of bench/anchors/pytorch.py's torch twins
// (torch 1.13.1); `first` is the layer reading the input, whose input gradient nobody computes.
const TORCH_MACS: [string, ModelSpec, number, number][] = [
  ['lenet', { inputShape: [1, 28, 28], layers: LENET }, 480_800, 8 * 28 * 28 * 25],
  ['cifar-small', { inputShape: [3, 32, 32], layers: CIFAR_SMALL }, 25_003_264, 32 * 32 * 32 * 27],
  ['resnet20', RESNET20(), 40_813_184, 16 * 32 * 32 * 27],
  ['mobilenetv2 at 64×64', MOBILENETV2(), 24_461_312, 32 * 32 * 32 * 27],
  // torchvision's own figure for mobilenet_v2 (0.30 GFLOPS, i.e. multiply-adds, at 224×224, 1000 classes).
  ['mobilenetv2 at 224×224, 1000 classes', mobilenetV2(), 300_774_272, 32 * 112 * 112 * 27],
];

describe('bench: useful training FLOPs per sample, from the graph', () => {
  for (const [name, spec, macs, first] of TORCH_MACS) {
    it(`${name}: forward, weight and input gradients (none for the input) = 2·(3·MACs − first layer's)`, () => {
      expect(trainingFlops(graph(spec))).toBe(2 * (3 * macs - first));
    });
  }
  it("cifar-small: the graph's count is bench/cifar.ts's count by hand", () => {
    expect(trainingFlops(graph({ inputShape: [3, 32, 32], layers: CIFAR_SMALL }))).toBe(CIFAR_TRAIN_FLOPS);
  });
});

describe('bench: the PyTorch twin is our architecture', () => {
  const torch = golden<Record<string, [string, number[]][]>>('zoo_keys.json');
  it('ResNet-20: equal to the zoo twin (test/golden/gen_zoo.py)', () => {
    expect(stateDictDiff(graph(RESNET20()), torch.resnet20)).toBeNull();
  });
  it('a different shape, a missing entry and a renamed entry are each found, by index', () => {
    const keys = torch.resnet20;
    const reshaped = keys.map(([k, s], i) => [k, i === 3 ? [...s, 1] : s] as [string, number[]]);
    expect(stateDictDiff(graph(RESNET20()), reshaped)).toMatch(/^entry 3: ours bn1\.running_mean \[16\], torch bn1\.running_mean \[16, 1\]$/);
    expect(stateDictDiff(graph(RESNET20()), keys.slice(0, -1))).toMatch(/^entry \d+: ours fc\.bias \[10\], torch nothing$/);
    const renamed = keys.map(([k, s], i) => [i === 0 ? 'conv0.weight' : k, s] as [string, number[]]);
    expect(stateDictDiff(graph(RESNET20()), renamed)).toMatch(/^entry 0: ours conv1\.weight/);
  });
  it('LeNet: our names are nn.Sequential indices', () => {
    const lenet: [string, number[]][] = [['0.weight', [8, 1, 5, 5]], ['0.bias', [8]], ['3.weight', [16, 8, 5, 5]], ['3.bias', [16]], ['7.weight', [10, 400]], ['7.bias', [10]]];
    expect(stateDictDiff(graph({ inputShape: [1, 28, 28], layers: LENET }), lenet)).toBeNull();
  });
});
