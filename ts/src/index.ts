// wasmcnn: CNN training on the CPU anywhere JavaScript runs.
//
//   const engine = await init();
//   const model = engine.sequential({ inputShape: [1, 28, 28], layers: [...], seed: 1 });
//   await model.fit(x, y, { epochs: 3, batchSize: 64, optimizer: { type: 'adam', lr: 1e-3 } });
import { Engine } from './runtime/engine.js';
import { load, type InitOptions } from './runtime/load.js';

/** Loads and instantiates the wasm core; every model, optimizer and buffer lives in the returned engine. */
export async function init(opts: InitOptions = {}): Promise<Engine> {
  return new Engine(await load(opts));
}

export { Engine, type EngineInfo } from './runtime/engine.js';
export { EngineTrapError } from './runtime/guard.js';
export { spawn, RemoteEngine, RemoteModel, RemoteOptimizer, type SpawnOptions, type RemoteFitOptions } from './remote/engine.js';
export type { InitOptions, BuildName } from './runtime/load.js';
export { WasmBuffer, type F32Buffer, type U32Buffer } from './runtime/memory.js';
export { Sequential, type ModelSpec, type ModelJSON, type SummaryRow } from './nn/sequential.js';
export type { LayerSpec, Conv2dSpec, DenseSpec, MaxPool2dSpec, ReluSpec, FlattenSpec } from './nn/layers/index.js';
export type { InitScheme } from './nn/init.js';
export {
  Optimizer, SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Adamax, Adafactor, Lookahead, OPTIMIZERS, resolveOptimizerConfig,
} from './optim/index.js';
export type {
  OptimizerConfig, OptimizerName, OptimizerState, SGDConfig, AdagradConfig, RMSpropConfig, AdadeltaConfig, AdamConfig, AdamWConfig,
  AdamaxConfig, AdafactorConfig, LookaheadConfig, ParamGroup, ParamTensor, LayoutEntry, OptimizerTarget, EpsMode, Preset,
} from './optim/index.js';
export type { FitOptions, History, BatchInfo, EpochInfo, Callbacks, EvalResult } from './train/fit.js';
export type { LayerTelemetry } from './train/telemetry.js';
export { checkpointToJSON, checkpointFromJSON, type Checkpoint } from './train/checkpoint.js';
export { createSchedule, SCHEDULES } from './train/schedules.js';
export type {
  Schedule, ScheduleConfig, ScheduleState, ScheduleType, StepScheduleConfig, MultiStepScheduleConfig, ExponentialScheduleConfig,
  CosineScheduleConfig, OneCycleScheduleConfig, ReduceOnPlateauScheduleConfig,
} from './train/schedules.js';
export { EarlyStopping, type EarlyStoppingConfig, type EarlyStoppingState } from './train/early-stopping.js';
export type { Padding, Pair } from './ops/geometry.js';
export * as ops from './ops/index.js';
