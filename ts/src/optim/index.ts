// Optimizer configs as plain JSON ({ type: 'adam', lr: 1e-3 }) and the factory that binds one to a size.
import { describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { Adagrad, type AdagradConfig } from './adagrad.js';
import { Adam, type AdamConfig } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { RMSprop, type RMSpropConfig } from './rmsprop.js';

export type OptimizerConfig =
  | ({ type: 'adagrad' } & AdagradConfig)
  | ({ type: 'rmsprop' } & RMSpropConfig)
  | ({ type: 'adam' } & AdamConfig);

export type OptimizerName = OptimizerConfig['type'];

export const OPTIMIZERS: readonly OptimizerName[] = ['adagrad', 'rmsprop', 'adam'];

/** Builds the optimizer `cfg` names for `size` parameters (state allocated in wasm memory). */
export function createOptimizer(engine: Engine, cfg: OptimizerConfig | OptimizerName, size: number): Optimizer {
  const c = typeof cfg === 'string' ? ({ type: cfg } as OptimizerConfig) : cfg;
  if (typeof c !== 'object' || c === null) {
    throw new TypeError(`optimizer: expected a config like { type: 'adam' } or a name, got ${describe(cfg)}`);
  }
  const { type, ...rest } = c;
  switch (type) {
    case 'adagrad':
      return new Adagrad(engine, size, rest);
    case 'rmsprop':
      return new RMSprop(engine, size, rest);
    case 'adam':
      return new Adam(engine, size, rest);
    default:
      throw new TypeError(`optimizer: unknown type ${describe(type)} (known: ${OPTIMIZERS.join(', ')})`);
  }
}

export { Adagrad, Adam, RMSprop };
export type { AdagradConfig, AdamConfig, Optimizer, RMSpropConfig };
