// The model zoo has its torch twins' state_dict: the same keys, in the same order, with the same shapes.
import { describe, expect, it } from 'vitest';
import { compileGraph, stateEntries } from '../ts/src/nn/graph.js';
import type { ModelSpec } from '../ts/src/nn/model-spec.js';
import { mobilenetV2 } from '../ts/src/nn/presets/mobilenet.js';
import { resnet18, resnet34, resnetCifar } from '../ts/src/nn/presets/resnet.js';
import { golden } from './helpers.js';

const torch = golden<Record<string, [string, number[]][]>>('zoo_keys.json');

const cases: [string, ModelSpec][] = [
  ['resnet18', resnet18({ numClasses: 10 })],
  ['resnet34', resnet34()],
  ['mobilenet_v2', mobilenetV2()],
  ['mobilenet_v2_0.5', mobilenetV2({ widthMult: 0.5, numClasses: 10 })],
  ['resnet20', resnetCifar({ depth: 20 })],
  ['resnet56', resnetCifar({ depth: 56 })],
];

describe('model zoo: torchvision state_dict keys and shapes', () => {
  for (const [name, spec] of cases) {
    it(name, () => {
      const g = compileGraph(spec.inputShape, spec.layers);
      const ours = stateEntries(g).map((e) => [e.name, e.shape]);
      expect(ours).toEqual(torch[name]);
    });
  }
});
