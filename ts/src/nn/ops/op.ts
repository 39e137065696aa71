// What every op of the registry provides: validation of its spec against its input shapes, and what it
// declares (output shape, parameters, buffers). One file per op under nn/ops/; containers (sequential,
// residual, concat, gate) are not ops: nn/graph.ts expands them into nodes of these.
import type { InitRole, InitSpec } from '../init.js';

/** A per-sample shape: [C, H, W] for images, [F] for vectors ([C, L] for 1-D sequences). */
export type Shape = readonly number[];

/** What a parameter is, for optimizer groups (e.g. no weight decay on norms and biases) and LAMB/LARS. */
export type ParamTag = 'weight' | 'bias' | 'norm';

/** A tensor an op owns: a trainable parameter, or a buffer (running statistics) that is saved but not optimized. */
export interface Decl {
  /** Local name (`weight`, `running_mean`); the full name is the node's path + '.' + this. */
  name: string;
  shape: number[];
  init: InitSpec;
  /** What 'default' means for it (PyTorch's default for this kind of tensor). */
  role: InitRole;
  /** Fan-in and fan-out for the He/Glorot/PyTorch-default initialisers. */
  fanIn: number;
  fanOut: number;
  tags: ParamTag[];
}

export interface Built<A> {
  attrs: A;
  out: Shape;
  params: Decl[];
  state: Decl[];
  /** The spec with every default filled in (what toJSON writes back). */
  spec: Record<string, unknown>;
}

export interface OpDef<A = unknown> {
  readonly type: string;
  /** Spec keys besides `type` and `name` (a typo must not be silently ignored). */
  readonly keys: readonly string[];
  /** Inputs the op takes: 1 for layers; merges take several (set by the container that makes them). */
  readonly arity: number | 'many';
  /** Checks the spec against the input shapes; every error names `where` (the layer's path) and the value. */
  build(where: string, spec: Readonly<Record<string, unknown>>, inputs: readonly Shape[]): Built<A>;
}

export function numel(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Throws unless `shape` has `rank` dimensions (an image op on a vector, …). */
export function expectRank(where: string, shape: Shape, ranks: readonly number[], what: string): void {
  if (!ranks.includes(shape.length)) throw new RangeError(`${where}: expects ${what}, got ${fmt(shape)}`);
}

/** Container types a spec may name beside the ops (expanded by nn/graph.ts). */
export const CONTAINERS = ['sequential', 'residual', 'concat', 'gate'] as const;
