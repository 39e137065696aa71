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
  ints: { c, h, w, o: 'filters', ...rest, activation: 'fused activation' },
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

/** The WasmOp of an operator definition (its attribute and slot names typed). */
export type OpOf<D extends OpDef> = WasmOp<keyof D['ints'] & string, D['slots'][number]>;
