// A model's state_dict to and from safetensors, with PyTorch's names, shapes and load_state_dict rules:
// missing, unexpected and mismatched keys reported as torch reports them, strict by default; BatchNorm's
// num_batches_tracked written as torch's I64 scalar and optional on load (torch fills it in too). Everything
// is parsed, matched and converted before anything is written, so a bad file leaves the model as it was.
import { checkBool, checkKeys, describe } from '../errors.js';
import { loadSafetensors, parseSafetensors, serializeSafetensors, type NamedTensorEntry, type SafetensorsFile } from '../io/safetensors.js';
import { checkStateDict, matchedFloat32, matchStateDict, type StateDictMatch } from '../io/state-dict.js';
import type { Model } from './model.js';

export interface LoadWeightsOptions {
  /** Every tensor must be present and nothing extra (PyTorch's default). Default true. */
  strict?: boolean;
  /**
   * Skip tensors whose shape differs instead of refusing the file (torch refuses even with strict=false):
   * for swapping a head when fine-tuning, e.g. a 1000-class `fc` into a 10-class model. Default false.
   */
  skipMismatched?: boolean;
}

/** What a load did, as torch's `_IncompatibleKeys` plus what was skipped. */
export interface LoadWeightsReport {
  missing: string[];
  unexpected: string[];
  /** Skipped because of `skipMismatched`. */
  mismatched: { name: string; expected: number[]; got: number[] }[];
  /** Loaded. */
  loaded: string[];
}

/** The source of a safetensors file: bytes, a Blob, or a fetch Response. */
export type WeightsSource = ArrayBufferLike | ArrayBufferView | Blob | Response;

const COUNT = 'num_batches_tracked';

/** Every module path of the model (containers included), as torch's named_modules() lists them. */
function modulePaths(model: Model): string[] {
  const out = new Set<string>();
  for (const n of model.graph.nodes) {
    const parts = n.path.split('.');
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('.'));
  }
  return [...out];
}

function checkLoadOptions(where: string, opts: unknown): Required<LoadWeightsOptions> {
  if (opts === undefined) return { strict: true, skipMismatched: false };
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`${where}: options must be an object, got ${describe(opts)}`);
  checkKeys(where, opts, ['strict', 'skipMismatched']);
  const o = opts as LoadWeightsOptions;
  return { strict: checkBool(where, 'strict', o.strict ?? true), skipMismatched: checkBool(where, 'skipMismatched', o.skipMismatched ?? false) };
}

/** Matches a parsed file against the model and writes what loads (checked in full first). */
export function applyWeights(model: Model, file: SafetensorsFile, opts: LoadWeightsOptions | undefined, where: string): LoadWeightsReport {
  const o = checkLoadOptions(where, opts);
  const expected = model.stateShapes().map((s) => ({ name: s.name, shape: s.shape, optional: s.name.endsWith(`.${COUNT}`) }));
  const found = matchStateDict(expected, file.tensors, { modules: modulePaths(model), where });
  // Skipped tensors keep their values and are reported; they count neither as loaded nor as missing.
  const skipped = o.skipMismatched ? found.mismatched : [];
  const m: StateDictMatch = o.skipMismatched ? { ...found, mismatched: [] } : found;
  checkStateDict(m, { strict: o.strict, model: where });
  const weights = Object.fromEntries(matchedFloat32(file.tensors, m));
  const counter = dropoutCounterOf(where, file.metadata);
  model.setWeights(weights, { strict: false });
  if (counter !== undefined) model._dropoutCounter = counter;
  return { missing: m.missing, unexpected: m.unexpected, mismatched: skipped, loaded: m.matched };
}

/** `model.loadWeights`: a safetensors file from bytes, a Blob or a Response. */
export async function loadWeights(model: Model, source: WeightsSource, opts?: LoadWeightsOptions): Promise<LoadWeightsReport> {
  const where = 'loadWeights';
  const file = await loadSafetensors(source, { where });
  return applyWeights(model, file, opts, where);
}

/** `model.loadWeightsSync`: the same from bytes already in memory. */
export function loadWeightsSync(model: Model, bytes: ArrayBufferLike | ArrayBufferView, opts?: LoadWeightsOptions): LoadWeightsReport {
  const where = 'loadWeights';
  return applyWeights(model, parseSafetensors(bytes, { where }), opts, where);
}

/**
 * The model's count of training forwards (dropout's mask stream), kept in our files' `__metadata__` so that
 * training continued after a load draws the masks it would have drawn; PyTorch ignores the key.
 */
const DROPOUT_COUNTER = 'wasmcnn.dropout_counter';

function dropoutCounterOf(where: string, metadata: Record<string, string> | null): number | undefined {
  const v = metadata?.[DROPOUT_COUNTER];
  if (v === undefined) return undefined;
  const n = /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new RangeError(`${where}: __metadata__ '${DROPOUT_COUNTER}' must be a non-negative integer, got '${v.slice(0, 40)}'`);
  return n;
}

/** The state_dict as a safetensors file (F32; num_batches_tracked as I64), loadable by torch with strict=True. */
export function saveWeights(model: Model, metadata?: Record<string, string>): Uint8Array {
  const w = model.getWeights();
  const shapes = new Map(model.stateShapes().map((s) => [s.name, s.shape]));
  const entries: NamedTensorEntry[] = Object.entries(w).map(([name, data]) =>
    name.endsWith(`.${COUNT}`)
      ? { name, dtype: 'I64', shape: [], data: [BigInt(Math.round(data[0]))] }
      : { name, dtype: 'F32', shape: shapes.get(name)!, data },
  );
  const c = model._dropoutCounter;
  const meta = c > 0 ? { ...metadata, [DROPOUT_COUNTER]: String(c) } : metadata;
  return serializeSafetensors(entries, meta ?? null, { where: 'saveWeights' });
}
