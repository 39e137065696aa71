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
export { Model, Model as Sequential, type ModelJSON, type SummaryRow } from './nn/model.js';
export type { ModelSpec } from './nn/model-spec.js';
export type {
  LayerSpec, ContainerSpec, SequentialSpec, ResidualSpec, ConcatSpec, GateSpec, Conv2dSpec, ConvTranspose2dSpec, DenseSpec,
  MaxPool2dSpec, AvgPool2dSpec, AdaptiveAvgPool2dSpec, GlobalAvgPool2dSpec, BatchNormSpec, LayerNormSpec, GroupNormSpec,
  DropoutSpec, ReluSpec, ActivationSpec, FlattenSpec,
} from './nn/layer-spec.js';
export type { InitSpec } from './nn/init.js';
export * as models from './nn/presets/index.js';
export type { LossSpec, LossName, Reduction } from './train/loss.js';
export type { EvaluateOptions, PredictOptions, TrainingWarning } from './train/fit.js';
export type { NonFinitePolicy, NonFiniteEvent } from './train/non-finite.js';
export type { DivergenceConfig, DivergenceWarning } from './train/divergence.js';
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
export {
  parseSafetensors, serializeSafetensors, loadSafetensors, SafeTensor, MAX_HEADER_BYTES,
  type SafetensorsFile, type TensorEntry, type NamedTensorEntry, type TensorEntries, type ParseOptions, type SerializeOptions,
} from './io/safetensors.js';
export { DTYPES, type Dtype } from './io/dtype.js';
export {
  matchStateDict, stateDictErrors, checkStateDict, matchedFloat32, type ExpectedTensor, type FoundTensor, type StateDictMatch, type MatchOptions,
} from './io/state-dict.js';
export {
  torchOptimizerState, optimizerStateToSafetensors, optimizerStateFromSafetensors, stateByName,
  type TorchOptimizerState, type TorchParamGroup, type OptimizerSlot, type JsonValue,
} from './io/optim-state.js';
