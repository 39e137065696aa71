// The op registry: every layer type a model spec may name, one file each. Adding an op is one file here (its
// spec, shape inference and declarations), one kernel binding, and one line below.
import { describe } from '../../errors.js';
import { ACTIVATIONS } from './activation.js';
import { adaptiveAvgPool2d, avgPool2d, globalAvgPool2d } from './avg-pool2d.js';
import { batchNorm1d, batchNorm2d } from './batch-norm.js';
import { convTranspose2d } from './conv-transpose2d.js';
import { conv2d } from './conv2d.js';
import { dense } from './dense.js';
import { dropout2d, dropoutOp } from './dropout.js';
import { flatten } from './flatten.js';
import { maxPool2d } from './max-pool2d.js';
import { add, concat, mul } from './merge.js';
import { groupNorm, layerNorm } from './norm.js';
import { relu } from './relu.js';
import { CONTAINERS, type OpDef } from './op.js';

const OPS = new Map<string, OpDef>(
  (
    [
      conv2d, convTranspose2d, dense, maxPool2d, avgPool2d, adaptiveAvgPool2d, globalAvgPool2d, batchNorm2d, batchNorm1d,
      layerNorm, groupNorm, dropoutOp, dropout2d, relu, ...ACTIVATIONS, flatten, add, concat, mul,
    ] as OpDef[]
  ).map((op) => [op.type, op]),
);

/** Layer types a spec may name (merges are made by the containers, not named in specs). */
export function layerTypes(): string[] {
  return [...OPS.values()].filter((o) => o.arity !== 'many').map((o) => o.type);
}

export function getOp(where: string, type: string): OpDef {
  const op = OPS.get(type);
  if (!op) {
    throw new TypeError(`${where}: unknown layer type ${describe(type)} (known: ${[...layerTypes(), ...CONTAINERS].join(', ')})`);
  }
  return op;
}
