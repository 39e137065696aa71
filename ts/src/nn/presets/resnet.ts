// ResNets as plain model specs, named as torchvision names them (conv1, bn1, layer1.0.conv1,
// layer1.0.downsample.0, fc), so their state_dict keys are torchvision's and weights load both ways.
//   resnet18 / resnet34: torchvision's ImageNet ResNets (BasicBlock), with numClasses, inChannels and a
//                        small-image stem (3×3 stride-1 conv, no max-pool) for 32×32-class inputs.
//   resnetCifar:         He et al. 2016's CIFAR ResNet-20/32/56 (three stages of 16/32/64 channels, n
//                        blocks each, depth 6n + 2), with projection shortcuts (the paper's option B).
import type { LayerSpecJSON } from '../graph.js';
import type { ModelSpec } from '../model-spec.js';

/** torchvision's init: convs Kaiming normal with fan_out (ReLU gain); BN weight 1, bias 0; fc PyTorch default. */
const CONV_INIT = { type: 'heNormal', mode: 'fanOut' } as const;

const conv = (name: string | undefined, filters: number, k: number, stride: number, padding: number): LayerSpecJSON => ({
  type: 'conv2d', ...(name ? { name } : {}), filters, kernelSize: k, stride, padding, useBias: false, weightInit: CONV_INIT,
});
const bn = (name?: string): LayerSpecJSON => ({ type: 'batchNorm2d', ...(name ? { name } : {}) });

/** torchvision's BasicBlock: conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus the (projected) input, then ReLU. */
export function basicBlock(inChannels: number, channels: number, stride: number): LayerSpecJSON {
  const projected = stride !== 1 || inChannels !== channels;
  return {
    type: 'residual',
    main: [conv('conv1', channels, 3, stride, 1), bn('bn1'), { type: 'relu', name: 'relu' }, conv('conv2', channels, 3, 1, 1), bn('bn2')],
    ...(projected ? { shortcut: [conv(undefined, channels, 1, stride, 0), bn()] } : {}),
    activation: 'relu',
  };
}

function stage(name: string, inChannels: number, channels: number, blocks: number, stride: number): LayerSpecJSON {
  const layers = Array.from({ length: blocks }, (_, i) => basicBlock(i === 0 ? inChannels : channels, channels, i === 0 ? stride : 1));
  return { type: 'sequential', name, layers };
}

export interface ResNetOptions {
  /** Output classes, default 1000 (torchvision's). */
  numClasses?: number;
  /** Input channels, default 3. */
  inChannels?: number;
  /** Input height and width, default 224. */
  imageSize?: number | [number, number];
  /** A 3×3 stride-1 stem without max-pool, for small images (CIFAR-sized). Default false. */
  smallInput?: boolean;
  seed?: number;
}

function resnet(blocks: [number, number, number, number], o: ResNetOptions): ModelSpec {
  const [h, w] = typeof o.imageSize === 'number' || o.imageSize === undefined ? [o.imageSize ?? 224, o.imageSize ?? 224] : o.imageSize;
  const stem: LayerSpecJSON[] = o.smallInput
    ? [conv('conv1', 64, 3, 1, 1), bn('bn1'), { type: 'relu', name: 'relu' }]
    : [conv('conv1', 64, 7, 2, 3), bn('bn1'), { type: 'relu', name: 'relu' }, { type: 'maxPool2d', name: 'maxpool', poolSize: 3, stride: 2, padding: 1 }];
  const widths = [64, 128, 256, 512];
  return {
    inputShape: [o.inChannels ?? 3, h, w],
    seed: o.seed ?? 0,
    init: 'pytorch',
    layers: [
      ...stem,
      ...widths.map((c, i) => stage(`layer${i + 1}`, i === 0 ? 64 : widths[i - 1], c, blocks[i], i === 0 ? 1 : 2)),
      { type: 'adaptiveAvgPool2d', name: 'avgpool', outputSize: 1 },
      { type: 'flatten', name: 'flatten' },
      { type: 'dense', name: 'fc', units: o.numClasses ?? 1000 },
    ],
  };
}

export const resnet18 = (o: ResNetOptions = {}): ModelSpec => resnet([2, 2, 2, 2], o);
export const resnet34 = (o: ResNetOptions = {}): ModelSpec => resnet([3, 4, 6, 3], o);

export interface ResNetCifarOptions {
  /** 6n + 2: 20, 32, 44, 56, 110. Default 20. */
  depth?: number;
  numClasses?: number;
  inChannels?: number;
  imageSize?: number;
  seed?: number;
}

export function resnetCifar(o: ResNetCifarOptions = {}): ModelSpec {
  const depth = o.depth ?? 20;
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new RangeError(`resnetCifar: depth must be 6n + 2 (20, 32, 44, 56, 110), got ${depth}`);
  }
  const n = (depth - 2) / 6;
  const size = o.imageSize ?? 32;
  return {
    inputShape: [o.inChannels ?? 3, size, size],
    seed: o.seed ?? 0,
    init: 'pytorch',
    layers: [
      conv('conv1', 16, 3, 1, 1), bn('bn1'), { type: 'relu', name: 'relu' },
      stage('layer1', 16, 16, n, 1), stage('layer2', 16, 32, n, 2), stage('layer3', 32, 64, n, 2),
      { type: 'adaptiveAvgPool2d', name: 'avgpool', outputSize: 1 },
      { type: 'flatten', name: 'flatten' },
      { type: 'dense', name: 'fc', units: o.numClasses ?? 10 },
    ],
  };
}
