// The package's API apart from init() and spawn(), which each entry binds to its runtime's Platform:
// index.ts (Node, Deno, Bun) and index.browser.ts (browsers, web workers, workerd). Both export exactly this.
/// <reference lib="esnext.disposable" preserve="true" />
export { Engine, type EngineInfo } from './runtime/engine.js';
export { EngineTrapError } from './runtime/guard.js';
export { RemoteEngine, RemoteModel, RemoteOptimizer, type SpawnOptions, type RemoteFitOptions } from './remote/engine.js';
export type { InitOptions, BuildName, WasmModule, GlobalURL } from './runtime/load.js';
export { WasmBuffer, type F32Buffer, type U32Buffer } from './runtime/memory.js';
export { Model, Model as Sequential, type ModelJSON, type SummaryRow } from './nn/model.js';
export type { ModelSpec } from './nn/model-spec.js';
export type {
  LayerSpec, ContainerSpec, SequentialSpec, ResidualSpec, ConcatSpec, GateSpec, Conv2dSpec, ConvTranspose2dSpec, DenseSpec,
  MaxPool2dSpec, AvgPool2dSpec, AdaptiveAvgPool2dSpec, GlobalAvgPool2dSpec, BatchNormSpec, LayerNormSpec, GroupNormSpec,
  DropoutSpec, ReluSpec, ActivationSpec, FlattenSpec,
} from './nn/layer-spec.js';
export type { InitSpec } from './nn/init.js';
export type { LoadWeightsOptions, LoadWeightsReport, WeightsSource } from './nn/weights-io.js';
export * as models from './nn/presets/index.js';
export type { LossSpec, LossName, Reduction } from './train/loss.js';
export type { EvaluateOptions, PredictOptions, TrainingWarning } from './train/fit.js';
export type { NonFinitePolicy, NonFiniteEvent } from './train/non-finite.js';
export type { DivergenceConfig, DivergenceWarning } from './train/divergence.js';
export type { InitScheme } from './nn/init.js';
export {
  Optimizer, SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Adamax, Adafactor, Lookahead, OPTIMIZERS, resolveOptimizerConfig,
  RAdam, NAdam, AdaBelief, Lion, Lamb, LARS, Prodigy, DAdaptAdam, DAdaptSGD, DAdaptAdagrad, ScheduleFreeAdamW, ScheduleFreeSGD, SWATS,
} from './optim/index.js';
export type { SWATSConfig, SWATSGroupPhase, LastStep, PhaseSwitch } from './optim/index.js';
export type {
  OptimizerConfig, OptimizerName, OptimizerState, SGDConfig, AdagradConfig, RMSpropConfig, AdadeltaConfig, AdamConfig, AdamWConfig,
  AdamaxConfig, AdafactorConfig, LookaheadConfig, ParamGroup, ParamTensor, LayoutEntry, OptimizerTarget, EpsMode, Preset,
} from './optim/index.js';
export type { FitOptions, History, BatchInfo, EpochInfo, Callbacks, EvalResult } from './train/fit.js';
export type { LayerTelemetry } from './train/telemetry.js';
export { lrFind, type LrFindOptions, type LrFindResult } from './train/lr-find.js';
export type { SwitchPolicy, SwitchRule, SwitchEvent } from './train/switch.js';
export { Advisor, FINDING_KINDS, resolveAdvisorOptions } from './train/advisor.js';
export type { AdvisorOptions, Finding, FindingKind, StepRecord, ResolvedAdvisorOptions } from './train/advisor.js';
export type {
  BuiltInTrainer, Dimension, SearchOptions, SearchResult, SearchSpace, Strategy, TrainFunction, TrialContext, TrialResult, TrialRow,
} from './train/search.js';
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

declare global {
  // Empty interfaces: they merge with the WebAssembly types of a consumer's DOM lib, and stand in for them
  // where there is none (a Node-only tsconfig), so that the package's types compile either way.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace WebAssembly {
    interface Module {}
    interface Memory {}
    interface Global {}
  }
}
