// The operators' definitions: kind, descriptor fields (what each means) and io slots, in the order of
// their Rust files (crates/core/src/operator/<name>.rs documents every layout).
import type { OpDef, WasmOp } from './op.js';

const WINDOW = {
  c: 'input channels', h: 'input height', w: 'input width', kh: 'kernel height', kw: 'kernel width',
  sh: 'stride height', sw: 'stride width', pt: 'top padding', pl: 'left padding', dh: 'dilation height',
  dw: 'dilation width', oh: 'output height', ow: 'output width',
} as const;
const { c, h, w, ...rest } = WINDOW;

export const CONV2D = {
  name: 'conv2d',
  kind: 1,
  ints: { c, h, w, o: 'filters', ...rest, activation: 'fused activation', groups: 'groups' },
  slots: ['x', 'weight', 'bias', 'y', 'dy', 'dx', 'dweight', 'dbias'],
} as const satisfies OpDef;

export const MAXPOOL2D = {
  name: 'maxPool2d',
  kind: 2,
  ints: WINDOW,
  slots: ['x', 'y', 'argmax', 'dy', 'dx'],
} as const satisfies OpDef;

export const DENSE = {
  name: 'dense',
  kind: 3,
  ints: { in: 'inputs', out: 'units', activation: 'fused activation' },
  slots: ['x', 'weight', 'bias', 'y', 'dy', 'dx', 'dweight', 'dbias'],
} as const satisfies OpDef;

export const RELU = {
  name: 'relu',
  kind: 4,
  ints: { n: 'values per sample' },
  slots: ['x', 'y', 'dy', 'dx'],
} as const satisfies OpDef;

export const SOFTMAX_CROSS_ENTROPY = {
  name: 'softmaxCrossEntropy',
  kind: 5,
  ints: { classes: 'classes' },
  slots: ['logits', 'labels', 'dlogits', 'loss'],
} as const satisfies OpDef;

export const BATCH_NORM = {
  name: 'batchNorm',
  kind: 6,
  ints: { c: 'channels', inner: 'values per channel', affine: 'affine', track: 'trackRunningStats', relu: 'fused ReLU', cumulative: 'momentum null' },
  floats: { eps: 'eps', momentum: 'momentum' },
  slots: ['x', 'weight', 'bias', 'runningMean', 'runningVar', 'batchesTracked', 'y', 'mean', 'rstd', 'dy', 'dx', 'dweight', 'dbias'],
} as const satisfies OpDef;

const NORM_SLOTS = ['x', 'weight', 'bias', 'y', 'mean', 'rstd', 'dy', 'dx', 'dweight', 'dbias'] as const;

export const LAYER_NORM = {
  name: 'layerNorm',
  kind: 7,
  ints: { rows: 'rows per sample', d: 'normalized values', affine: 'elementwiseAffine' },
  floats: { eps: 'eps' },
  slots: NORM_SLOTS,
} as const satisfies OpDef;

export const GROUP_NORM = {
  name: 'groupNorm',
  kind: 8,
  ints: { c: 'channels', inner: 'values per channel', groups: 'numGroups', affine: 'affine' },
  floats: { eps: 'eps' },
  slots: NORM_SLOTS,
} as const satisfies OpDef;

export const DROPOUT = {
  name: 'dropout',
  kind: 9,
  ints: { n: 'values per sample', inner: 'values per unit', seedLo: 'seed (low word)', seedHi: 'seed (high word)' },
  floats: { p: 'p' },
  slots: ['x', 'y', 'mask', 'counter', 'dy', 'dx'],
} as const satisfies OpDef;

/** ACTIVATION's `kind` field, in crates/core/src/operator/activation.rs order. */
export const ACTIVATION_KINDS = ['relu', 'relu6', 'leakyRelu', 'elu', 'gelu', 'geluTanh', 'silu', 'hardswish', 'hardsigmoid', 'sigmoid', 'tanh'] as const;

export const ACTIVATION = {
  name: 'activation',
  kind: 10,
  ints: { n: 'values per sample', fn: 'activation' },
  floats: { alpha: 'negativeSlope / alpha' },
  slots: ['x', 'y', 'dy', 'dx'],
} as const satisfies OpDef;

export const ADD = {
  name: 'add',
  kind: 11,
  ints: { n: 'values per sample', activation: 'fused activation' },
  slots: ['a', 'b', 'y', 'dy', 'da', 'db'],
} as const satisfies OpDef;

/** Inputs a CONCAT io block holds (crates/core/src/operator/concat.rs `MAX_INPUTS`). */
export const CONCAT_MAX_INPUTS = 7;

/** A CONCAT definition for `k` inputs: its channel fields and slots depend on k. */
export function concatDef(k: number) {
  const ints: Record<string, string> = { inner: 'values per channel', k: 'inputs' };
  const slots = ['y', 'dy'];
  for (let i = 0; i < k; i++) {
    ints[`c${i}`] = `channels of input ${i}`;
    slots.push(`x${i}`, `dx${i}`);
  }
  return { name: 'concat', kind: 12, ints, slots } satisfies OpDef;
}

export const GATE = {
  name: 'gate',
  kind: 13,
  ints: { c: 'channels', inner: 'values per channel' },
  slots: ['x', 's', 'y', 'dy', 'dx', 'ds'],
} as const satisfies OpDef;

export const CONV_TRANSPOSE2D = {
  name: 'convTranspose2d',
  kind: 14,
  ints: { c, h, w, o: 'filters', ...rest, groups: 'groups' },
  slots: ['x', 'weight', 'bias', 'y', 'dy', 'dx', 'dweight', 'dbias'],
} as const satisfies OpDef;

export const AVG_POOL2D = {
  name: 'avgPool2d',
  kind: 15,
  ints: {
    c, h, w, kh: WINDOW.kh, kw: WINDOW.kw, sh: WINDOW.sh, sw: WINDOW.sw, ph: 'padding height', pw: 'padding width',
    oh: WINDOW.oh, ow: WINDOW.ow, ceil: 'ceilMode', includePad: 'countIncludePad', divisor: 'divisorOverride',
  },
  slots: ['x', 'y', 'dy', 'dx'],
} as const satisfies OpDef;

export const ADAPTIVE_POOL2D = {
  name: 'adaptivePool2d',
  kind: 16,
  ints: { c, h, w, oh: WINDOW.oh, ow: WINDOW.ow, max: 'max (else average)' },
  slots: ['x', 'y', 'argmax', 'dy', 'dx'],
} as const satisfies OpDef;

export const CROSS_ENTROPY = {
  name: 'crossEntropy',
  kind: 17,
  ints: { classes: 'classes', probabilities: 'probability targets', reduction: 'reduction', weighted: 'weight', ignoreIndex: 'ignoreIndex' },
  floats: { smoothing: 'labelSmoothing' },
  slots: ['logits', 'target', 'weight', 'dlogits', 'loss'],
} as const satisfies OpDef;

export const BCE_WITH_LOGITS = {
  name: 'binaryCrossEntropy',
  kind: 18,
  ints: { n: 'values per sample', reduction: 'reduction', weighted: 'weight', posWeighted: 'posWeight' },
  slots: ['x', 'target', 'weight', 'posWeight', 'dx', 'loss'],
} as const satisfies OpDef;

/** REGRESSION's `fn` field. */
export const REGRESSION_KINDS = ['mse', 'l1', 'huber', 'smoothL1'] as const;

export const REGRESSION = {
  name: 'regression',
  kind: 19,
  ints: { n: 'values per sample', fn: 'loss', reduction: 'reduction' },
  floats: { param: 'delta / beta' },
  slots: ['x', 'target', 'dx', 'loss'],
} as const satisfies OpDef;

/** The WasmOp of an operator definition (its attribute and slot names typed). */
export type OpOf<D extends OpDef> = WasmOp<keyof D['ints'] & string, D['slots'][number]>;
