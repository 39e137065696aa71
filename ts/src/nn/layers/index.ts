// Layer specs (plain JSON) and the factory that validates one against its input shape.
import { checkKeys, describe } from '../../errors.js';
import type { OpHost } from '../../runtime/op.js';
import type { Layer } from '../layer.js';
import { Conv2d, CONV2D_KEYS, type Conv2dSpec } from './conv2d.js';
import { Dense, DENSE_KEYS, type DenseSpec } from './dense.js';
import { MaxPool2d, MAXPOOL2D_KEYS, type MaxPool2dSpec } from './maxpool2d.js';
import { Flatten, Relu, SIMPLE_KEYS, type FlattenSpec, type ReluSpec } from './simple.js';

export type LayerSpec = Conv2dSpec | MaxPool2dSpec | DenseSpec | ReluSpec | FlattenSpec;
export type LayerType = LayerSpec['type'];
export const LAYER_TYPES: readonly LayerType[] = ['conv2d', 'maxPool2d', 'dense', 'relu', 'flatten'];

/**
 * Builds layer `index` from its spec; every error names the layer and what was expected. With `host` (the
 * model's engine) the layer creates its operator at once, so Rust validates the rest (sizes, scratch,
 * geometry) at build time; without, at the layer's first call.
 */
export function buildLayer(index: number, spec: unknown, inShape: readonly number[], taken: Set<string>, host?: OpHost): Layer {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new TypeError(`layer ${index}: expected a layer spec object, got ${describe(spec)}`);
  }
  const s = spec as { type?: unknown; name?: unknown };
  if (typeof s.type !== 'string' || !(LAYER_TYPES as readonly string[]).includes(s.type)) {
    throw new TypeError(`layer ${index}: unknown layer type ${describe(s.type)} (known: ${LAYER_TYPES.join(', ')})`);
  }
  if (s.name !== undefined && (typeof s.name !== 'string' || s.name === '')) {
    throw new TypeError(`layer ${index} (${s.type}): name must be a non-empty string, got ${describe(s.name)}`);
  }
  const name = (s.name as string | undefined) ?? `${s.type}_${index}`;
  if (taken.has(name)) throw new RangeError(`layer ${index} (${s.type}): duplicate layer name '${name}'`);
  taken.add(name);
  const where = `layer ${index} (${s.type} '${name}')`;
  const l = spec as LayerSpec;
  switch (l.type) {
    case 'conv2d':
      checkKeys(where, l, CONV2D_KEYS);
      return new Conv2d(name, l, inShape, host);
    case 'maxPool2d':
      checkKeys(where, l, MAXPOOL2D_KEYS);
      return new MaxPool2d(name, l, inShape, host);
    case 'dense':
      checkKeys(where, l, DENSE_KEYS);
      return new Dense(name, l, inShape, host);
    case 'relu':
      checkKeys(where, l, SIMPLE_KEYS);
      return new Relu(name, inShape, host);
    case 'flatten':
      checkKeys(where, l, SIMPLE_KEYS);
      return new Flatten(name, inShape);
  }
}

export type { Conv2dSpec, DenseSpec, FlattenSpec, MaxPool2dSpec, ReluSpec };
