// The optimizers a config can name (Lookahead aside, which wraps one of these): each type's resolver
// (validates a config, allocates nothing) and constructor.
import type { Engine } from '../runtime/engine.js';
import { AdaBelief, resolveAdaBelief, type AdaBeliefConfig } from './adabelief.js';
import { Adadelta, resolveAdadelta, type AdadeltaConfig } from './adadelta.js';
import { Adafactor, resolveAdafactor, type AdafactorConfig } from './adafactor.js';
import { Adagrad, resolveAdagrad, type AdagradConfig } from './adagrad.js';
import { Adam, AdamW, resolveAdam, resolveAdamW, type AdamConfig, type AdamWConfig } from './adam.js';
import { Adamax, resolveAdamax, type AdamaxConfig } from './adamax.js';
import {
  DAdaptAdagrad, DAdaptAdam, DAdaptSGD, resolveDAdaptAdagrad, resolveDAdaptAdam, resolveDAdaptSGD,
  type DAdaptAdagradConfig, type DAdaptAdamConfig, type DAdaptSGDConfig,
} from './dadapt.js';
import { Lamb, resolveLamb, type LambConfig } from './lamb.js';
import { LARS, resolveLARS, type LARSConfig } from './lars.js';
import { Lion, resolveLion, type LionConfig } from './lion.js';
import { NAdam, resolveNAdam, type NAdamConfig } from './nadam.js';
import type { Optimizer, OptimizerTargetLike } from './optimizer.js';
import { Prodigy, resolveProdigy, type ProdigyConfig } from './prodigy.js';
import { RAdam, resolveRAdam, type RAdamConfig } from './radam.js';
import {
  resolveScheduleFreeAdamW, resolveScheduleFreeSGD, ScheduleFreeAdamW, ScheduleFreeSGD,
  type ScheduleFreeAdamWConfig, type ScheduleFreeSGDConfig,
} from './schedulefree.js';
import { resolveRMSprop, RMSprop, type RMSpropConfig } from './rmsprop.js';
import { resolveSGD, SGD, type SGDConfig } from './sgd.js';
import { resolveSWATS, SWATS, type SWATSConfig } from './swats.js';

/** A config of one of the optimizers Lookahead can wrap. */
export type BaseOptimizerConfig =
  | ({ type: 'sgd' } & SGDConfig)
  | ({ type: 'adagrad' } & AdagradConfig)
  | ({ type: 'rmsprop' } & RMSpropConfig)
  | ({ type: 'adadelta' } & AdadeltaConfig)
  | ({ type: 'adam' } & AdamConfig)
  | ({ type: 'adamw' } & AdamWConfig)
  | ({ type: 'adamax' } & AdamaxConfig)
  | ({ type: 'adafactor' } & AdafactorConfig)
  | ({ type: 'radam' } & RAdamConfig)
  | ({ type: 'nadam' } & NAdamConfig)
  | ({ type: 'adabelief' } & AdaBeliefConfig)
  | ({ type: 'lion' } & LionConfig)
  | ({ type: 'lamb' } & LambConfig)
  | ({ type: 'lars' } & LARSConfig)
  | ({ type: 'swats' } & SWATSConfig)
  | ({ type: 'prodigy' } & ProdigyConfig)
  | ({ type: 'dadapt_adam' } & DAdaptAdamConfig)
  | ({ type: 'dadapt_sgd' } & DAdaptSGDConfig)
  | ({ type: 'dadapt_adagrad' } & DAdaptAdagradConfig)
  | ({ type: 'schedulefree_adamw' } & ScheduleFreeAdamWConfig)
  | ({ type: 'schedulefree_sgd' } & ScheduleFreeSGDConfig);

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
  // Issue 14: rectified and sign methods, layer-wise trust ratios, learning-rate-free and schedule-free.
  radam: { resolve: resolveRAdam, make: (e, t, c) => new RAdam(e, t, c) },
  nadam: { resolve: resolveNAdam, make: (e, t, c) => new NAdam(e, t, c) },
  adabelief: { resolve: resolveAdaBelief, make: (e, t, c) => new AdaBelief(e, t, c) },
  lion: { resolve: resolveLion, make: (e, t, c) => new Lion(e, t, c) },
  lamb: { resolve: resolveLamb, make: (e, t, c) => new Lamb(e, t, c) },
  lars: { resolve: resolveLARS, make: (e, t, c) => new LARS(e, t, c) },
  swats: { resolve: resolveSWATS, make: (e, t, c) => new SWATS(e, t, c) },
  prodigy: { resolve: resolveProdigy, make: (e, t, c) => new Prodigy(e, t, c) },
  dadapt_adam: { resolve: resolveDAdaptAdam, make: (e, t, c) => new DAdaptAdam(e, t, c) },
  dadapt_sgd: { resolve: resolveDAdaptSGD, make: (e, t, c) => new DAdaptSGD(e, t, c) },
  dadapt_adagrad: { resolve: resolveDAdaptAdagrad, make: (e, t, c) => new DAdaptAdagrad(e, t, c) },
  schedulefree_adamw: { resolve: resolveScheduleFreeAdamW, make: (e, t, c) => new ScheduleFreeAdamW(e, t, c) },
  schedulefree_sgd: { resolve: resolveScheduleFreeSGD, make: (e, t, c) => new ScheduleFreeSGD(e, t, c) },
};
