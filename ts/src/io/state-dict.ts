// A checkpoint's tensors against the tensors a model expects, classified as torch.nn.Module.load_state_dict
// classifies them (torch 1.13, nn/modules/module.py): missing keys, unexpected keys, shape mismatches, and
// its message. Data only: names and shapes in, a report out; the model does the copying.
//
// What torch does, and this reproduces:
// - every expected key absent from the checkpoint is missing, in the model's state_dict order;
// - a checkpoint key is unexpected when, walking its dotted path from the root module, the first component
//   that is not a child module is not a parameter or buffer of that module either. So 'relu.weight' (ReLU has
//   no parameters) and 'layer9.x' are unexpected, but 'fc.weight.extra' (beside a parameter 'fc.weight') and
//   'fc' (a module's own name) are passed over silently; they are listed as `ignored`;
// - an expected key with another shape is a mismatch, an error even with strict=false (torch raises then
//   too); except that a 0-dim tensor loads from a 1-dim checkpoint entry of k ≥ 1 elements, taking element
//   0 (torch's compatibility with 0.3 checkpoints), listed in `firstElement`;
// - strict=false forgives missing and unexpected keys only.
// BatchNorm fills a missing num_batches_tracked with 0 when the checkpoint has no version metadata (a
// safetensors file never has), and torch does not report it: mark such expected tensors `optional`.
import { describe } from '../errors.js';
import type { SafeTensor } from './safetensors.js';

export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
  /** The model fills it in when the checkpoint lacks it (BatchNorm's num_batches_tracked): not missing then. */
  optional?: boolean;
}

export interface FoundTensor {
  readonly shape: readonly number[];
}

export interface StateDictMatch {
  /** Expected names the checkpoint provides with a loadable shape, in the model's order. */
  matched: string[];
  /** Of `matched`: 0-dim tensors to load from element 0 of a 1-dim checkpoint entry. */
  firstElement: string[];
  /** Expected, not optional, absent from the checkpoint (model order). */
  missing: string[];
  /** Optional, absent from the checkpoint: the model fills them in. */
  defaulted: string[];
  /** Checkpoint keys torch reports as unexpected, in torch's order (by module, root first). */
  unexpected: string[];
  /** Expected keys whose checkpoint shape differs (model order). */
  mismatched: { name: string; expected: number[]; got: number[] }[];
  /** Checkpoint keys torch passes over without a word (see the file comment). */
  ignored: string[];
}

export interface MatchOptions {
  /**
   * Every module path of the model, as torch's `named_modules()` gives them (without the root ''),
   * including modules without parameters (ReLU, Dropout, pooling). Paths implied by the expected names are
   * added; the order gives the order of `unexpected`. Without it, a key under a parameterless module is
   * still unexpected, and only its place in the list may differ from torch's.
   */
  modules?: Iterable<string>;
  where?: string;
}

const EXTRA_STATE = '_extra_state';

/** Classifies `found` (a parsed file's tensors, or named shapes) against what the model expects. */
export function matchStateDict(
  expected: readonly ExpectedTensor[],
  found: ReadonlyMap<string, FoundTensor> | readonly (FoundTensor & { name: string })[],
  opts: MatchOptions = {},
): StateDictMatch {
  const where = opts.where ?? 'matchStateDict';
  const want = new Map<string, ExpectedTensor>();
  expected.forEach((e, i) => {
    if (typeof e?.name !== 'string' || want.has(e.name)) throw new TypeError(`${where}: expected tensor ${i} has a missing or repeated name ${describe(e?.name)}`);
    checkShape(where, `expected tensor '${e.name}'`, e.shape);
    want.set(e.name, e);
  });
  const got = new Map<string, readonly number[]>();
  for (const [name, t] of Array.isArray(found) ? found.map((t) => [t.name, t] as const) : (found as ReadonlyMap<string, FoundTensor>)) {
    if (typeof name !== 'string' || got.has(name)) throw new TypeError(`${where}: checkpoint tensor name ${describe(name)} is missing or repeated`);
    got.set(name, checkShape(where, `checkpoint tensor '${name}'`, t?.shape));
  }
  const modules = moduleOrder(opts.modules ?? [], want.keys());

  const r: StateDictMatch = { matched: [], firstElement: [], missing: [], defaulted: [], unexpected: [], mismatched: [], ignored: [] };
  for (const e of want.values()) {
    const shape = got.get(e.name);
    if (shape === undefined) {
      (e.optional ? r.defaulted : r.missing).push(e.name);
    } else if (sameShape(shape, e.shape)) {
      r.matched.push(e.name);
    } else if (e.shape.length === 0 && shape.length === 1 && shape[0] >= 1) {
      r.matched.push(e.name);
      r.firstElement.push(e.name);
    } else {
      r.mismatched.push({ name: e.name, expected: [...e.shape], got: [...shape] });
    }
  }
  const flagged: { key: string; module: number; extra: boolean; i: number }[] = [];
  [...got.keys()].forEach((key, i) => {
    if (want.has(key)) return;
    const at = flaggedAt(key, modules, want);
    if (at === null) r.ignored.push(key);
    else flagged.push({ key, module: at === '' ? -1 : modules.get(at)!, extra: key === (at === '' ? EXTRA_STATE : `${at}.${EXTRA_STATE}`), i });
  });
  // torch visits modules root first, in definition order; at each, the `_extra_state` key comes first.
  flagged.sort((a, b) => a.module - b.module || Number(b.extra) - Number(a.extra) || a.i - b.i);
  r.unexpected = flagged.map((f) => f.key);
  return r;
}

/** The module where torch reports `key` as unexpected ('' = root), or null when it passes over it. */
function flaggedAt(key: string, modules: ReadonlyMap<string, number>, want: ReadonlyMap<string, ExpectedTensor>): string | null {
  let prefix = '';
  for (;;) {
    const rest = prefix === '' ? key : key.slice(prefix.length + 1);
    const first = rest.split('.', 1)[0];
    const path = prefix === '' ? first : `${prefix}.${first}`;
    if (modules.has(path)) {
      if (!key.startsWith(`${path}.`)) return null; // the key is a module's own name: no module looks at it
      prefix = path;
      continue;
    }
    return want.has(path) ? null : prefix;
  }
}

/** Module paths in torch's visiting order (given ones first, then those implied by parameter names). */
function moduleOrder(given: Iterable<string>, names: Iterable<string>): Map<string, number> {
  const order = new Map<string, number>();
  const add = (m: string) => {
    if (!order.has(m)) order.set(m, order.size);
  };
  for (const m of given) {
    if (typeof m !== 'string' || m === '') throw new TypeError(`matchStateDict: module paths must be non-empty strings, got ${describe(m)}`);
    add(m);
  }
  for (const n of names) {
    const parts = n.split('.');
    for (let i = 1; i < parts.length; i++) add(parts.slice(0, i).join('.'));
  }
  return order;
}

function checkShape(where: string, what: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TypeError(`${where}: ${what} must have a shape of non-negative integers, got ${describe(shape)}`);
  }
  return shape;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** torch's error lines for a match: missing and unexpected keys (strict only), then every size mismatch. */
export function stateDictErrors(m: StateDictMatch, { strict = true } = {}): string[] {
  const quoted = (keys: string[]) => keys.map((k) => `"${k}"`).join(', ');
  const lines: string[] = [];
  // torch's wording, its trailing space included.
  if (strict && m.missing.length > 0) lines.push(`Missing key(s) in state_dict: ${quoted(m.missing)}. `);
  if (strict && m.unexpected.length > 0) lines.push(`Unexpected key(s) in state_dict: ${quoted(m.unexpected)}. `);
  for (const x of m.mismatched) {
    lines.push(`size mismatch for ${x.name}: copying a param with shape [${x.got.join(', ')}] from checkpoint, the shape in current model is [${x.expected.join(', ')}].`);
  }
  return lines;
}

/**
 * Throws a TypeError with torch's message ("Error(s) in loading state_dict for <model>:" and one line per
 * problem) unless the match loads: no mismatches, and with `strict` (default) no missing or unexpected keys.
 */
export function checkStateDict(m: StateDictMatch, { strict = true, model = 'model' } = {}): void {
  const lines = stateDictErrors(m, { strict });
  if (lines.length > 0) throw new TypeError(`Error(s) in loading state_dict for ${model}:\n\t${lines.join('\n\t')}`);
}

/**
 * The matched tensors' values as float32, every conversion done before anything is returned (an F64 value
 * beyond float32's range or an inexact integer throws here, while the model is untouched); a 0-dim tensor
 * loaded from a 1-dim entry gets its element 0, as torch does.
 */
export function matchedFloat32(found: ReadonlyMap<string, SafeTensor>, m: StateDictMatch): Map<string, Float32Array> {
  const first = new Set(m.firstElement);
  return new Map(m.matched.map((name) => {
    const values = found.get(name)!.toFloat32();
    return [name, first.has(name) ? values.slice(0, 1) : values];
  }));
}
