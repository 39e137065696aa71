// Training checkpoints: the model (architecture and weights), the optimizer's state (moments, step counts),
// the schedule's and early stopping's positions, and the epoch reached. Resuming `fit` from one gives bitwise
// the weights of training straight through.
import { describe } from '../errors.js';
import type { ModelJSON } from '../nn/model.js';
import type { OptimizerState } from '../optim/index.js';
import type { EarlyStoppingState } from './early-stopping.js';
import type { ScheduleState } from './schedules.js';
import type { SwitchState } from './switch.js';

export interface Checkpoint {
  format: 'wasmcnn.checkpoint';
  version: 1;
  /** Epochs completed; `fit({ resume })` continues with the next one. */
  epoch: number;
  model: ModelJSON;
  optimizer: OptimizerState;
  schedule?: ScheduleState;
  earlyStopping?: EarlyStoppingState;
  /** The best epoch's weights, kept for `earlyStopping.restoreBest`. */
  bestWeights?: Record<string, Float32Array>;
  /** A switch policy's position (its rules' counters and which fired). */
  switch?: SwitchState;
  /** Optimizer steps taken so far (the global step count the advisor and switch events use). */
  steps?: number;
}

/** A checkpoint as a JSON string (typed arrays become number arrays; float32 values round-trip exactly). */
export function checkpointToJSON(c: Checkpoint): string {
  return JSON.stringify(c, (_k, v: unknown) => (v instanceof Float32Array ? { f32: Array.from(v) } : v));
}

/** Parses `checkpointToJSON`'s output back into a Checkpoint (`fit` validates it in full on resume). */
export function checkpointFromJSON(text: string): Checkpoint {
  const where = 'checkpointFromJSON';
  if (typeof text !== 'string') throw new TypeError(`${where}: expected the JSON text of a checkpoint, got ${describe(text)}`);
  let c: unknown;
  try {
    c = JSON.parse(text, (_k, v: unknown) =>
      v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && Array.isArray((v as { f32?: unknown }).f32)
        ? Float32Array.from((v as { f32: number[] }).f32)
        : v,
    ) as unknown;
  } catch (e) {
    throw new TypeError(`${where}: the text is not valid JSON (truncated or corrupt?): ${(e as Error).message}`);
  }
  checkCheckpointShape(where, c);
  return c;
}

export function checkCheckpointShape(where: string, c: unknown): asserts c is Checkpoint {
  if (typeof c !== 'object' || c === null) throw new TypeError(`${where}: expected a checkpoint object, got ${describe(c)}`);
  const k = c as Partial<Checkpoint>;
  if (k.format !== 'wasmcnn.checkpoint') throw new TypeError(`${where}: format must be 'wasmcnn.checkpoint', got ${describe(k.format)}`);
  if (k.version !== 1) throw new RangeError(`${where}: unsupported checkpoint version ${describe(k.version)} (this library reads 1)`);
  if (!Number.isInteger(k.epoch) || (k.epoch as number) < 0) throw new TypeError(`${where}: epoch must be a non-negative integer, got ${describe(k.epoch)}`);
  if (typeof k.model !== 'object' || k.model === null || k.model.weights === undefined) {
    throw new TypeError(`${where}: model must be a model JSON with weights`);
  }
  if (typeof k.optimizer !== 'object' || k.optimizer === null) throw new TypeError(`${where}: optimizer state missing`);
  for (const part of ['schedule', 'earlyStopping', 'bestWeights', 'switch'] as const) {
    const v = k[part];
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new TypeError(`${where}: ${part} must be an object when present, got ${describe(v)}`);
    }
  }
}
