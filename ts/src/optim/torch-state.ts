// An optimizer's state as torch.optim's state_dict in safetensors (io/optim-state.ts), so training can go on
// in PyTorch — `opt.load_state_dict` of an optimizer over the same parameters continues the trajectory —
// and come back. Only the optimizers torch.optim 1.13 has, with options torch has: each config maps to
// torch's hyper-parameters, each slot to torch's per-parameter tensor, cut from the flat buffers by the
// layout; a parameter group becomes a torch group (lr × lrScale, weight_decay × weightDecayScale).
import { describe } from '../errors.js';
import { optimizerStateFromSafetensors, optimizerStateToSafetensors, stateByName, torchOptimizerState, type JsonValue, type OptimizerSlot } from '../io/optim-state.js';
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import type { Optimizer, OptimizerState } from './optimizer.js';

type Cfg = Record<string, unknown>;
const common = { foreach: null, differentiable: false };

/** torch 1.13's hyper-parameters for each optimizer it shares with us (null: an option torch lacks). */
const HYPERS: Record<string, (c: Cfg) => Record<string, JsonValue> | string> = {
  sgd: (c) => ({ lr: c.lr as number, momentum: c.momentum as number, dampening: c.dampening as number, weight_decay: c.weightDecay as number, nesterov: c.nesterov as boolean, maximize: c.maximize as boolean, ...common }),
  adagrad: (c) =>
    c.epsMode === 'inside' ? "epsMode 'inside'" : { lr: c.lr as number, lr_decay: c.lrDecay as number, weight_decay: c.weightDecay as number, initial_accumulator_value: c.initialAccumulatorValue as number, eps: c.eps as number, maximize: c.maximize as boolean, ...common },
  rmsprop: (c) =>
    c.epsMode === 'inside' || c.lrInMomentum ? "the Keras conventions (epsMode 'inside', lrInMomentum)" : { lr: c.lr as number, alpha: c.alpha as number, eps: c.eps as number, weight_decay: c.weightDecay as number, momentum: c.momentum as number, centered: c.centered as boolean, maximize: c.maximize as boolean, ...common },
  adam: (c) => (c.epsMode === 'inside' ? "epsMode 'inside'" : adamLike(c)),
  adamw: (c) => (c.epsMode === 'inside' ? "epsMode 'inside'" : adamLike(c)),
  adamax: (c) => ({ lr: c.lr as number, betas: c.betas as number[], eps: c.eps as number, weight_decay: c.weightDecay as number, maximize: c.maximize as boolean, ...common }),
  adadelta: (c) => ({ lr: c.lr as number, rho: c.rho as number, eps: c.eps as number, weight_decay: c.weightDecay as number, maximize: c.maximize as boolean, ...common }),
};

function adamLike(c: Cfg): Record<string, JsonValue> {
  return { lr: c.lr as number, betas: c.betas as number[], eps: c.eps as number, weight_decay: c.weightDecay as number, amsgrad: c.amsgrad as boolean, maximize: c.maximize as boolean, foreach: null, capturable: false, differentiable: false, fused: false };
}

/** Hyper-parameters torch keeps per group that our groups scale. */
function scaled(h: Record<string, JsonValue>, lrScale: number, wdScale: number): Record<string, JsonValue> {
  return { ...h, lr: (h.lr as number) * lrScale, weight_decay: (h.weight_decay as number) * wdScale };
}

function hypersOf(opt: Optimizer, where: string): Record<string, JsonValue> {
  const f = HYPERS[opt.type];
  if (!f) throw new TypeError(`${where}: torch.optim has no ${opt.name} (it has ${Object.keys(HYPERS).join(', ')})`);
  const h = f({ ...(opt.config as unknown as Cfg), lr: opt.lr });
  if (typeof h === 'string') throw new TypeError(`${where}: ${opt.name} with ${h} has no torch.optim equivalent`);
  return h;
}

/** The optimizer's state as torch.optim's state_dict in a safetensors file (`state.<i>.<slot>`, `param_groups`). */
export function saveTorchOptimizer(opt: Optimizer): Uint8Array {
  const where = `${opt.name}.saveTorchState`;
  const base = hypersOf(opt, where);
  const s = opt.saveState();
  // One torch group per resolved parameter group, in the order their first tensors come.
  const groups = new Map<string, { params: string[]; options: Record<string, JsonValue> }>();
  const state = new Map<string, Record<string, OptimizerSlot>>();
  for (const t of opt.layout) {
    const key = t.frozen ? 'frozen' : `${t.group ?? 'none'}`;
    if (!groups.has(key)) groups.set(key, { params: [], options: t.frozen ? { ...scaled(base, 0, 0), frozen: true } : scaled(base, t.lrScale, t.weightDecayScale) });
    groups.get(key)!.params.push(t.name);
    if (t.frozen || s.steps === 0) continue;
    const slots: Record<string, OptimizerSlot> = { step: s.steps };
    for (const [name, data] of Object.entries(s.slots)) slots[name] = { shape: t.shape, data: Float32Array.from(data.subarray(t.offset, t.offset + t.length)) };
    state.set(t.name, slots);
  }
  const torch = torchOptimizerState([...groups.values()], state, where);
  const { tensors, metadata } = optimizerStateToSafetensors(torch, where);
  return serializeSafetensors(tensors, { ...metadata, optimizer: opt.type }, { where });
}

/**
 * Restores a state saved by `saveTorchOptimizer` or by torch (a torch.optim state_dict written with the
 * same naming): slots by parameter name, the step count, and the rate of the first non-frozen group.
 * Checked in full first (the same optimizer type and hyper-parameters but lr, every tensor's slots and
 * shapes); the optimizer is unchanged if anything is wrong.
 */
export function loadTorchOptimizer(opt: Optimizer, bytes: ArrayBufferLike | ArrayBufferView): void {
  const where = `${opt.name}.loadTorchState`;
  const file = parseSafetensors(bytes, { where });
  const torch = optimizerStateFromSafetensors(file, where);
  const byName = stateByName(torch, where);
  const base = hypersOf(opt, where);
  const first = opt.layout.find((t) => !t.frozen);
  for (const g of torch.param_groups) {
    for (const [k, v] of Object.entries(base)) {
      if (k === 'lr' || k === 'weight_decay' || k === 'foreach') continue;
      if (JSON.stringify(g[k]) !== JSON.stringify(v)) throw new TypeError(`${where}: the file's ${k} is ${describe(g[k])}, this optimizer's ${describe(v)}`);
    }
  }
  const mine = opt.saveState();
  const slots: Record<string, Float32Array> = Object.fromEntries(Object.entries(mine.slots).map(([k, v]) => [k, Float32Array.from(v)]));
  let steps: number | null = null;
  for (const t of opt.layout) {
    const st = byName.get(t.name);
    if (t.frozen) continue;
    if (!st) {
      if (steps !== null && steps > 0) throw new RangeError(`${where}: the file has no state for '${t.name}'`);
      steps = 0;
      continue;
    }
    const step = st.step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) throw new RangeError(`${where}: '${t.name}' has step ${describe(step)}, expected a count`);
    if (steps !== null && steps !== step) throw new RangeError(`${where}: '${t.name}' is at step ${step}, another tensor at ${steps}: one step count per optimizer here`);
    steps = step;
    for (const k of Object.keys(slots)) {
      const v = st[k];
      if (typeof v !== 'object' || v === null || v.data.length !== t.length) {
        throw new RangeError(`${where}: '${t.name}' needs slot '${k}' of ${t.length} values, the file has ${typeof v === 'object' && v ? v.data.length : describe(v)}`);
      }
      slots[k].set(v.data, t.offset);
    }
  }
  const lrGroup = first ? torch.param_groups.find((g) => g.param_names?.includes(first.name)) : undefined;
  const lr = lrGroup ? (lrGroup.lr as number) / (first!.lrScale || 1) : opt.lr;
  const next: OptimizerState = { ...mine, steps: steps ?? 0, lr, slots };
  opt.loadState(next);
}
