// torchvision's MobileNetV2 as a plain model spec, with its names (features.0.0, features.1.conv.0.0,
// classifier.1) and its width multiplier (channels rounded by _make_divisible to multiples of 8).
import type { LayerSpecJSON } from '../graph.js';
import type { ModelSpec } from '../model-spec.js';

/** torchvision's _make_divisible: round to the nearest multiple of `d`, never below 90% of v. */
export function makeDivisible(v: number, d = 8): number {
  let r = Math.max(d, Math.floor((v + d / 2) / d) * d);
  if (r < 0.9 * v) r += d;
  return r;
}

const CONV_INIT = { type: 'heNormal', mode: 'fanOut' } as const;

/** Conv2dNormActivation: conv (no bias) → BN → ReLU6, as one child sequential. */
function convBnAct(filters: number, k: number, stride: number, groups = 1, act = true): LayerSpecJSON[] {
  return [
    { type: 'conv2d', filters, kernelSize: k, stride, padding: (k - 1) / 2, useBias: false, weightInit: CONV_INIT, ...(groups > 1 ? { groups } : {}) },
    { type: 'batchNorm2d' },
    ...(act ? [{ type: 'relu6' } as const] : []),
  ];
}

/** InvertedResidual: [1×1 expand] → 3×3 depthwise → 1×1 project (linear), with the input added when shapes allow. */
function invertedResidual(inp: number, oup: number, stride: number, expand: number): LayerSpecJSON {
  const hidden = Math.round(inp * expand);
  const conv: LayerSpecJSON[] = [];
  if (expand !== 1) conv.push({ type: 'sequential', layers: convBnAct(hidden, 1, 1) });
  conv.push({ type: 'sequential', layers: convBnAct(hidden, 3, stride, hidden) });
  conv.push(convBnAct(oup, 1, 1, 1, false)[0], { type: 'batchNorm2d' });
  const body: LayerSpecJSON = { type: 'sequential', name: 'conv', layers: conv };
  return stride === 1 && inp === oup ? { type: 'residual', main: [body] } : { type: 'sequential', layers: [body] };
}

export interface MobileNetV2Options {
  numClasses?: number;
  widthMult?: number;
  inChannels?: number;
  imageSize?: number;
  /** Dropout before the classifier, default 0.2. */
  dropout?: number;
  seed?: number;
}

/** t (expansion), c (channels), n (repeats), s (first stride): torchvision's inverted_residual_setting. */
const SETTING: [number, number, number, number][] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

export function mobilenetV2(o: MobileNetV2Options = {}): ModelSpec {
  const wm = o.widthMult ?? 1;
  let inp = makeDivisible(32 * wm);
  const last = makeDivisible(1280 * Math.max(1, wm));
  const features: LayerSpecJSON[] = [{ type: 'sequential', layers: convBnAct(inp, 3, 2) }];
  for (const [t, c, n, s] of SETTING) {
    const oup = makeDivisible(c * wm);
    for (let i = 0; i < n; i++) {
      features.push(invertedResidual(inp, oup, i === 0 ? s : 1, t));
      inp = oup;
    }
  }
  features.push({ type: 'sequential', layers: convBnAct(last, 1, 1) });
  const size = o.imageSize ?? 224;
  return {
    inputShape: [o.inChannels ?? 3, size, size],
    seed: o.seed ?? 0,
    init: 'pytorch',
    layers: [
      { type: 'sequential', name: 'features', layers: features },
      { type: 'globalAvgPool2d', name: 'pool' },
      { type: 'flatten', name: 'flatten' },
      {
        type: 'sequential', name: 'classifier',
        layers: [{ type: 'dropout', p: o.dropout ?? 0.2 }, { type: 'dense', units: o.numClasses ?? 1000, weightInit: { type: 'normal', std: 0.01 }, biasInit: 'zeros' }],
      },
    ],
  };
}
