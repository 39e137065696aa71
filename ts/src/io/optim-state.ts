// torch.optim state as safetensors, so training can continue in PyTorch (and come back).
//
// `torch.optim.Optimizer.state_dict()` (torch 1.13, optim/optimizer.py) is
//   { state: { <i>: { <slot>: tensor, step: … } }, param_groups: [{ <hyper-parameters>, params: [<i>, …] }] }
// where <i> numbers the parameters through all groups in order. Here each slot is the tensor
// `state.<i>.<slot>` and `param_groups` is JSON in `__metadata__`; every group also carries `param_names`,
// as torch ≥ 2.6 writes for an optimizer built from named parameters (torch 1.13 keeps it as an unused
// group key). Slots use torch's names: exp_avg, exp_avg_sq, max_exp_avg_sq (Adam, AdamW), exp_inf (Adamax),
// sum (Adagrad), square_avg, grad_avg, momentum_buffer (RMSprop), square_avg, acc_delta (Adadelta),
// momentum_buffer (SGD), step. A number (`step`) is stored as a 0-dim F32 tensor, the dtype torch gives
// Adam's, Adagrad's and Adamax's step (1.13) and every optimizer's (2.x); RMSprop and Adadelta in 1.13
// keep an int and step on from the tensor as well. Data only: no optimizer classes here.
//
// To load one in PyTorch:
//   with safe_open(path, 'pt') as f: meta, t = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
//   state = {}
//   for k, v in t.items(): _, i, slot = k.split('.', 2); state.setdefault(int(i), {})[slot] = v
//   opt.load_state_dict({'state': state, 'param_groups': json.loads(meta['param_groups'])})
import { describe } from '../errors.js';
import type { NamedTensorEntry, SafetensorsFile } from './safetensors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One of torch's param_groups: hyper-parameters (torch's names), `params` (indices), `param_names`. */
export interface TorchParamGroup {
  params: number[];
  param_names?: string[];
  [hyper: string]: JsonValue | undefined;
}

/** A state slot: values with their shape, or a number (`step`). */
export type OptimizerSlot = number | { shape: readonly number[]; data: Float32Array };

/** torch.optim's state_dict: per parameter index, slot → value (parameters without state are absent). */
export interface TorchOptimizerState {
  state: Map<number, Record<string, OptimizerSlot>>;
  param_groups: TorchParamGroup[];
}

const SLOT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TENSOR = /^state\.(0|[1-9][0-9]*)\.([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Builds torch's form from names: `groups` in order, each with its parameters' names and hyper-parameters
 * (torch's names and values, e.g. { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad:
 * false }); `state` by parameter name.
 */
export function torchOptimizerState(
  groups: readonly { params: readonly string[]; options: Readonly<Record<string, JsonValue>> }[],
  state: ReadonlyMap<string, Readonly<Record<string, OptimizerSlot>>>,
  where = 'torchOptimizerState',
): TorchOptimizerState {
  if (!Array.isArray(groups)) throw new TypeError(`${where}: groups must be an array of { params, options }, got ${describe(groups)}`);
  const index = new Map<string, number>();
  const param_groups = groups.map((g, gi) => {
    if (!Array.isArray(g?.params)) throw new TypeError(`${where}: groups[${gi}].params must be an array of parameter names, got ${describe(g?.params)}`);
    if (typeof g.options !== 'object' || g.options === null || Array.isArray(g.options)) {
      throw new TypeError(`${where}: groups[${gi}].options must be an object of hyper-parameters, got ${describe(g.options)}`);
    }
    const params = g.params.map((name: unknown, j: number) => {
      if (typeof name !== 'string' || index.has(name)) throw new TypeError(`${where}: groups[${gi}].params[${j}] is a missing or repeated name ${describe(name)}`);
      index.set(name, index.size);
      return index.size - 1;
    });
    return { ...g.options, params, param_names: [...g.params] } as TorchParamGroup;
  });
  const byIndex = new Map<number, Record<string, OptimizerSlot>>();
  for (const [name, slots] of state) {
    const i = index.get(name);
    if (i === undefined) throw new TypeError(`${where}: state for '${name}', which is in no group (groups hold: ${[...index.keys()].join(', ')})`);
    byIndex.set(i, { ...slots });
  }
  return checkState(where, { state: byIndex, param_groups });
}

/** The safetensors tensors (`state.<i>.<slot>`, F32) and metadata (`param_groups`) for an optimizer state. */
export function optimizerStateToSafetensors(s: TorchOptimizerState, where = 'optimizerStateToSafetensors'): {
  tensors: NamedTensorEntry[];
  metadata: Record<string, string>;
} {
  checkState(where, s);
  const tensors: NamedTensorEntry[] = [];
  for (const [i, slots] of s.state) {
    for (const [slot, v] of Object.entries(slots)) {
      const name = `state.${i}.${slot}`;
      tensors.push(typeof v === 'number' ? { name, dtype: 'F32', shape: [], data: [v] } : { name, dtype: 'F32', shape: v.shape, data: v.data });
    }
  }
  const groups = s.param_groups.map(({ params, param_names, ...hyper }) => (param_names ? { ...hyper, params, param_names } : { ...hyper, params }));
  return { tensors, metadata: { param_groups: JSON.stringify(groups) } };
}

/**
 * Reads an optimizer state from a parsed file, checked in full: `param_groups` in the metadata, every tensor
 * named `state.<i>.<slot>` for an index some group holds; 0-dim tensors become numbers, others Float32Arrays.
 */
export function optimizerStateFromSafetensors(file: SafetensorsFile, where = 'optimizerStateFromSafetensors'): TorchOptimizerState {
  const text = file.metadata?.param_groups;
  if (typeof text !== 'string') throw new TypeError(`${where}: the file's __metadata__ has no 'param_groups': is it an optimizer state?`);
  let param_groups: unknown;
  try {
    param_groups = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`${where}: __metadata__.param_groups is not valid JSON (${(e as Error).message})`);
  }
  const state = new Map<number, Record<string, OptimizerSlot>>();
  for (const [name, t] of file.tensors) {
    const m = TENSOR.exec(name);
    if (m === null) throw new TypeError(`${where}: tensor '${name}' is not named state.<index>.<slot>`);
    const i = Number(m[1]);
    if (!Number.isSafeInteger(i)) throw new RangeError(`${where}: tensor '${name}' has a parameter index beyond 2^53`);
    const slots = state.get(i) ?? {};
    slots[m[2]] = t.shape.length === 0 ? t.scalar() : { shape: [...t.shape], data: t.toFloat32() };
    state.set(i, slots);
  }
  return checkState(where, { state, param_groups: param_groups as TorchParamGroup[] });
}

/** The state keyed by parameter name (needs `param_names` in the groups). */
export function stateByName(s: TorchOptimizerState, where = 'stateByName'): Map<string, Record<string, OptimizerSlot>> {
  checkState(where, s);
  const names = new Map<number, string>();
  for (const [gi, g] of s.param_groups.entries()) {
    if (g.param_names === undefined) throw new TypeError(`${where}: param_groups[${gi}] has no param_names, so the state cannot be matched by name`);
    g.params.forEach((p, j) => names.set(p, g.param_names![j]));
  }
  return new Map([...s.state].map(([i, slots]) => [names.get(i)!, slots]));
}

/** Validates torch's form: groups, unique indices and names, JSON hyper-parameters, slots and their values. */
function checkState(where: string, s: TorchOptimizerState): TorchOptimizerState {
  if (typeof s !== 'object' || s === null || !(s.state instanceof Map)) {
    throw new TypeError(`${where}: expected { state: Map, param_groups: [...] }, got ${describe(s)}`);
  }
  const groups = s.param_groups as unknown;
  if (!Array.isArray(groups)) throw new TypeError(`${where}: param_groups must be an array of groups, got ${describe(groups)}`);
  const indices = new Set<number>();
  const names = new Set<string>();
  const named = groups.length > 0 && typeof groups[0] === 'object' && groups[0] !== null && 'param_names' in groups[0];
  groups.forEach((g: unknown, gi) => {
    const at = `param_groups[${gi}]`;
    if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new TypeError(`${where}: ${at} must be an object, got ${describe(g)}`);
    const { params, param_names, ...hyper } = g as Record<string, unknown>;
    if (!Array.isArray(params)) throw new TypeError(`${where}: ${at}.params must be an array of parameter indices, got ${describe(params)}`);
    for (const p of params) {
      if (!Number.isSafeInteger(p) || p < 0) throw new TypeError(`${where}: ${at}.params holds ${describe(p)}, expected a non-negative integer index`);
      if (indices.has(p)) throw new TypeError(`${where}: parameter index ${p} appears in more than one place in param_groups`);
      indices.add(p);
    }
    if (('param_names' in (g as object)) !== named) throw new TypeError(`${where}: param_groups must all have param_names or none; ${at} differs from param_groups[0]`);
    if (param_names !== undefined) {
      if (!Array.isArray(param_names) || param_names.length !== params.length) {
        throw new TypeError(`${where}: ${at}.param_names must be an array of ${params.length} names (one per params entry), got ${describe(param_names)}`);
      }
      for (const n of param_names) {
        if (typeof n !== 'string' || names.has(n)) throw new TypeError(`${where}: ${at}.param_names holds a missing or repeated name ${describe(n)}`);
        names.add(n);
      }
    }
    for (const [k, v] of Object.entries(hyper)) checkJson(where, `${at}.${k}`, v);
  });
  for (const [i, slots] of s.state) {
    if (!indices.has(i)) throw new TypeError(`${where}: state for parameter index ${describe(i)}, which no param group holds`);
    if (typeof slots !== 'object' || slots === null) throw new TypeError(`${where}: state[${i}] must be an object of slots, got ${describe(slots)}`);
    for (const [slot, v] of Object.entries(slots)) {
      const at = `state[${i}].${slot}`;
      if (!SLOT.test(slot)) throw new TypeError(`${where}: slot name '${slot}' of parameter ${i} must be an identifier (letters, digits, _)`);
      if (typeof v === 'number') {
        if (Math.fround(v) !== v && !Number.isNaN(v)) throw new RangeError(`${where}: ${at} is ${v}, which float32 (torch's dtype for it) cannot hold exactly`);
      } else if (typeof v !== 'object' || v === null || !(v.data instanceof Float32Array) || !Array.isArray(v.shape)) {
        throw new TypeError(`${where}: ${at} must be a number or { shape, data: Float32Array }, got ${describe(v)}`);
      } else if (v.shape.reduce((a, d) => a * d, 1) !== v.data.length) {
        throw new RangeError(`${where}: ${at} has ${v.data.length} values but shape [${v.shape.join(', ')}]`);
      }
    }
  }
  return s;
}

/** A hyper-parameter must survive JSON: finite numbers, strings, booleans, null, arrays and plain objects. */
function checkJson(where: string, at: string, v: unknown): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`${where}: ${at} is ${v}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(v)) return v.forEach((x, i) => checkJson(where, `${at}[${i}]`, x));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) checkJson(where, `${at}.${k}`, x);
    return;
  }
  throw new TypeError(`${where}: ${at} is ${describe(v)}, not a JSON value`);
}
