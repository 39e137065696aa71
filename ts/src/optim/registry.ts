// The optimizers a config can name (Lookahead aside, which wraps one of these): each type's resolver
// (validates a config, allocates nothing) and constructor.
import type { Engine } from '../runtime/engine.js';
import { Adadelta, resolveAdadelta, type AdadeltaConfig } from './adadelta.js';
import { Adafactor, resolveAdafactor, type AdafactorConfig } from './adafactor.js';
import { Adagrad, resolveAdagrad, type AdagradConfig } from './adagrad.js';
import { Adam, AdamW, resolveAdam, resolveAdamW, type AdamConfig, type AdamWConfig } from './adam.js';
import { Adamax, resolveAdamax, type AdamaxConfig } from './adamax.js';
import type { Optimizer, OptimizerTargetLike } from './optimizer.js';
import { resolveRMSprop, RMSprop, type RMSpropConfig } from './rmsprop.js';
import { resolveSGD, SGD, type SGDConfig } from './sgd.js';

/** A config of one of the optimizers Lookahead can wrap. */
export type BaseOptimizerConfig =
  | ({ type: 'sgd' } & SGDConfig)
  | ({ type: 'adagrad' } & AdagradConfig)
  | ({ type: 'rmsprop' } & RMSpropConfig)
  | ({ type: 'adadelta' } & AdadeltaConfig)
  | ({ type: 'adam' } & AdamConfig)
  | ({ type: 'adamw' } & AdamWConfig)
  | ({ type: 'adamax' } & AdamaxConfig)
  | ({ type: 'adafactor' } & AdafactorConfig);

export type BaseOptimizerName = BaseOptimizerConfig['type'];

interface Entry {
  resolve(cfg: object): { paramGroups: unknown[] };
  make(engine: Engine, target: OptimizerTargetLike, cfg: object): Optimizer;
}

/** Sorted in order of increasing complexity. */
export const BASE_OPTIMIZERS: Record<BaseOptimizerName, Entry> = {
  sgd: { resolve: (c) => resolveSGD(c as SGDConfig), make: (e, t, c) => new SGD(e, t, c as SGDConfig) },
  adagrad: { resolve: resolveAdagrad, make: (e, t, c) => new Adagrad(e, t, c) },
  rmsprop: { resolve: resolveRMSprop, make: (e, t, c) => new RMSprop(e, t, c) },
  adadelta: { resolve: resolveAdadelta, make: (e, t, c) => new Adadelta(e, t, c) },
  adam: { resolve: resolveAdam, make: (e, t, c) => new Adam(e, t, c) },
  adamw: { resolve: resolveAdamW, make: (e, t, c) => new AdamW(e, t, c) },
  adamax: { resolve: resolveAdamax, make: (e, t, c) => new Adamax(e, t, c) },
  adafactor: { resolve: resolveAdafactor, make: (e, t, c) => new Adafactor(e, t, c) },
};
