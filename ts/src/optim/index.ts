// Optimizer configs as plain JSON ({ type: 'adam', lr: 1e-3 }) and the factory that binds one to a model,
// a layout or a size. Sorted in order of increasing complexity: sgd, adagrad, rmsprop, adadelta, adam,
// adamw, adamax, adafactor, then lookahead (a wrapper around one of the others).
import { describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { Adadelta, type AdadeltaConfig } from './adadelta.js';
import { Adafactor, type AdafactorConfig } from './adafactor.js';
import { Adagrad, type AdagradConfig } from './adagrad.js';
import { Adam, AdamW, type AdamConfig, type AdamWConfig } from './adam.js';
import { Adamax, type AdamaxConfig } from './adamax.js';
import { Lookahead, resolveLookahead, type LookaheadConfig } from './lookahead.js';
import { Optimizer, type OptimizerState, type OptimizerTargetLike } from './optimizer.js';
import { BASE_OPTIMIZERS, type BaseOptimizerConfig } from './registry.js';
import { RMSprop, type RMSpropConfig } from './rmsprop.js';
import { SGD, type SGDConfig } from './sgd.js';

export type OptimizerConfig = BaseOptimizerConfig | ({ type: 'lookahead' } & LookaheadConfig);

export type OptimizerName = OptimizerConfig['type'];

export const OPTIMIZERS: readonly OptimizerName[] = [
  'sgd', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'adamw', 'adamax', 'adafactor',
  'radam', 'nadam', 'adabelief', 'lion', 'lamb', 'lars', 'swats', 'prodigy', 'dadapt_adam', 'dadapt_sgd', 'dadapt_adagrad',
  'schedulefree_adamw', 'schedulefree_sgd', 'lookahead',
];

/** Validates a config (or a name) in full without allocating; returns it with every option filled in. */
export function resolveOptimizerConfig(cfg: OptimizerConfig | OptimizerName): OptimizerConfig {
  const { type, rest } = split(cfg);
  if (type === 'lookahead') return { type, ...resolveLookahead(rest as unknown as LookaheadConfig) };
  return { type, ...BASE_OPTIMIZERS[type].resolve(rest) } as OptimizerConfig;
}

function split(cfg: unknown): { type: OptimizerName; rest: object } {
  const c = typeof cfg === 'string' ? { type: cfg } : cfg;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new TypeError(`optimizer: expected a config like { type: 'adam' } or a name, got ${describe(cfg)}`);
  }
  const { type, ...rest } = c as { type?: unknown };
  if (typeof type !== 'string' || !(OPTIMIZERS as readonly string[]).includes(type)) {
    throw new TypeError(`optimizer: unknown type ${describe(type)} (known: ${OPTIMIZERS.join(', ')})`);
  }
  return { type: type as OptimizerName, rest };
}

/**
 * Builds the optimizer `cfg` names for `target`: a model (parameter groups match its tensor names), a
 * layout `{ size, tensors }`, or a bare size (one tensor named 'params'). The config is validated in full
 * before any state is allocated in wasm memory.
 */
export function createOptimizer(engine: Engine, cfg: OptimizerConfig | OptimizerName, target: OptimizerTargetLike): Optimizer {
  const { type, rest } = split(cfg);
  if (type === 'lookahead') return new Lookahead(engine, target, rest as LookaheadConfig);
  return BASE_OPTIMIZERS[type].make(engine, target, rest);
}

export { Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax, Lookahead, Optimizer, RMSprop, SGD };
export { AdaBelief } from './adabelief.js';
export { DAdaptAdagrad, DAdaptAdam, DAdaptSGD } from './dadapt.js';
export { Lamb } from './lamb.js';
export { LARS } from './lars.js';
export { Lion } from './lion.js';
export { NAdam } from './nadam.js';
export { Prodigy } from './prodigy.js';
export { RAdam } from './radam.js';
export { ScheduleFreeAdamW, ScheduleFreeSGD } from './schedulefree.js';
export { SWATS } from './swats.js';
export type { SWATSConfig, SWATSGroupPhase } from './swats.js';
export type { LastStep, PhaseSwitch } from './optimizer.js';
export type {
  AdadeltaConfig, AdafactorConfig, AdagradConfig, AdamConfig, AdamWConfig, AdamaxConfig, LookaheadConfig, OptimizerState,
  OptimizerTargetLike, RMSpropConfig, SGDConfig,
};
export type { EpsMode, Preset, CommonConfig } from './options.js';
export type { LayoutEntry, OptimizerTarget, ParamGroup, ParamTensor, ResolvedParamGroup } from './layout.js';
