// Every layer and container a model definition may hold, as typed JSON (what `engine.model(spec)` takes).
import type { ActivationType } from './ops/activation.js';
import type { BatchNormSpec } from './ops/batch-norm.js';
import type { Conv2dSpec } from './ops/conv2d.js';
import type { DenseSpec } from './ops/dense.js';
import type { MaxPool2dSpec } from './ops/max-pool2d.js';
import type { Pair } from '../ops/geometry.js';
import type { InitSpec } from './init.js';

interface Named {
  name?: string;
}
export interface ReluSpec extends Named {
  type: 'relu';
}
export interface FlattenSpec extends Named {
  type: 'flatten';
}
export interface ActivationSpec extends Named {
  type: ActivationType;
  /** leakyRelu: default 0.01. */
  negativeSlope?: number;
  /** elu: default 1. */
  alpha?: number;
  /** gelu: 'none' (erf, default) or 'tanh'. */
  approximate?: 'none' | 'tanh';
}
export interface DropoutSpec extends Named {
  type: 'dropout' | 'dropout2d';
  /** Drop probability, default 0.5. */
  p?: number;
}
export interface AvgPool2dSpec extends Named {
  type: 'avgPool2d';
  poolSize: Pair;
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number;
}
export interface AdaptiveAvgPool2dSpec extends Named {
  type: 'adaptiveAvgPool2d';
  outputSize: Pair;
}
export interface GlobalAvgPool2dSpec extends Named {
  type: 'globalAvgPool2d';
}
export interface LayerNormSpec extends Named {
  type: 'layerNorm';
  /** The trailing dims normalised over, default the last one. */
  normalizedShape?: number[];
  eps?: number;
  elementwiseAffine?: boolean;
  weightInit?: InitSpec;
  biasInit?: InitSpec;
}
export interface GroupNormSpec extends Named {
  type: 'groupNorm';
  numGroups: number;
  eps?: number;
  affine?: boolean;
  weightInit?: InitSpec;
  biasInit?: InitSpec;
}
export interface ConvTranspose2dSpec extends Named {
  type: 'convTranspose2d';
  filters: number;
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  useBias?: boolean;
  weightInit?: InitSpec;
  biasInit?: InitSpec;
}

/** A container: a nested sequential, a residual block, a channel concatenation, or a multiplicative gate. */
export interface SequentialSpec extends Named {
  type: 'sequential';
  layers: readonly LayerSpec[];
}
/**
 * `y = act(main(x) + shortcut(x))`. The main branch's layers are children of the block itself (torchvision's
 * `layer1.0.conv1`); the shortcut is a child sequential named `shortcutName` (default 'downsample', as
 * torchvision's BasicBlock), the identity when absent.
 */
export interface ResidualSpec extends Named {
  type: 'residual';
  main: readonly LayerSpec[];
  shortcut?: readonly LayerSpec[] | null;
  shortcutName?: string;
  /** A layer type applied after the add (ResNet: 'relu'). */
  activation?: 'relu' | ActivationType;
}
/** Branches over the same input whose outputs are concatenated along channels (DenseNet, Inception). */
export interface ConcatSpec extends Named {
  type: 'concat';
  /** Each branch a list of layers (an empty list is the identity) or `{ name, layers }`. */
  branches: readonly (readonly LayerSpec[] | { name?: string; layers: readonly LayerSpec[] })[];
}
/** `y = x ⊙ f(x)`, f's output [C] or [C, 1, 1] broadcast over the plane (squeeze-and-excitation). */
export interface GateSpec extends Named {
  type: 'gate';
  layers: readonly LayerSpec[];
}

export type ContainerSpec = SequentialSpec | ResidualSpec | ConcatSpec | GateSpec;

export type LayerSpec =
  | Conv2dSpec | ConvTranspose2dSpec | DenseSpec | MaxPool2dSpec | AvgPool2dSpec | AdaptiveAvgPool2dSpec | GlobalAvgPool2dSpec
  | BatchNormSpec | LayerNormSpec | GroupNormSpec | DropoutSpec | ReluSpec | ActivationSpec | FlattenSpec | ContainerSpec;

export type { BatchNormSpec, Conv2dSpec, DenseSpec, MaxPool2dSpec };
