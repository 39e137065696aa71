// State dicts and optimizer state over safetensors: the matcher classifies as torch.nn.Module.load_state_dict
// does on cases recorded from torch 1.13 (state_dict_cases.json), message included; torch.optim state in
// `state.<i>.<slot>` naming reads back to torch's values and survives a trip through the writer.
import { describe, expect, it } from 'vitest';
import {
  optimizerStateFromSafetensors, optimizerStateToSafetensors, stateByName, torchOptimizerState, type TorchOptimizerState, type TorchParamGroup,
} from '../ts/src/io/optim-state.js';
import { parseSafetensors, serializeSafetensors } from '../ts/src/io/safetensors.js';
import { checkStateDict, matchStateDict, matchedFloat32, stateDictErrors, type ExpectedTensor } from '../ts/src/io/state-dict.js';
import { bits, fixture, fixtureJson } from './safetensors-helpers.js';

type Named = { name: string; shape: number[] };
type Outcome = { missing: string[]; unexpected: string[] } | { error: string };
interface Case { title: string; class: string; expected: Named[]; modules: string[]; optional: string[]; checkpoint: Named[]; strict: Outcome; non_strict: Outcome }
const cases = fixtureJson<Case[]>('state_dict_cases.json');

const expectedOf = (c: Case): ExpectedTensor[] => c.expected.map((e) => ({ ...e, optional: c.optional.includes(e.name) }));
const thrown = (fn: () => void): string | null => {
  try {
    fn();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return (e as Error).message;
  }
};

describe('matchStateDict against torch.nn.Module.load_state_dict (torch 1.13)', () => {
  it.each(cases.map((c) => [c.title, c] as const))('%s', (_, c) => {
    const r = matchStateDict(expectedOf(c), c.checkpoint, { modules: c.modules });
    for (const [strict, outcome] of [[true, c.strict], [false, c.non_strict]] as const) {
      const message = thrown(() => checkStateDict(r, { strict, model: c.class }));
      if ('error' in outcome) {
        expect(message).toBe(outcome.error);
      } else {
        expect(message).toBeNull();
        expect(r.missing).toEqual(outcome.missing);
        expect(r.unexpected).toEqual(outcome.unexpected);
      }
    }
    // Every key is accounted for exactly once.
    const found = new Set(c.checkpoint.map((t) => t.name));
    const used = [...r.matched, ...r.mismatched.map((m) => m.name)];
    expect([...used, ...r.unexpected, ...r.ignored].sort()).toEqual([...found].sort());
    expect([...r.matched, ...r.mismatched.map((m) => m.name), ...r.missing, ...r.defaulted].sort()).toEqual(c.expected.map((e) => e.name).sort());
  });

  it('the quirks: keys torch passes over, BatchNorm\'s default, and 1-d entries for 0-d buffers', () => {
    const quirks = cases.find((c) => c.title.startsWith('extra and missing'))!;
    const r = matchStateDict(expectedOf(quirks), quirks.checkpoint, { modules: quirks.modules });
    expect(r.ignored.sort()).toEqual(['fc', 'fc.weight.extra']);
    expect(r.defaulted).toEqual(['bn.num_batches_tracked']);
    expect(r.missing).toEqual([]);
    for (const title of ['1-d checkpoint entries for 0-d buffers', '1-d of 3 for a 0-d buffer']) {
      const c = cases.find((x) => x.title === title)!;
      const m = matchStateDict(expectedOf(c), c.checkpoint, { modules: c.modules });
      expect(m.firstElement).toEqual(['bn.num_batches_tracked']);
      expect(m.matched).toContain('bn.num_batches_tracked');
    }
    // torch fails with an IndexError on a 1-d entry of 0 elements; here it is a mismatch.
    const empty = matchStateDict([{ name: 'n', shape: [] }], [{ name: 'n', shape: [0] }]);
    expect(empty.mismatched).toEqual([{ name: 'n', expected: [], got: [0] }]);
  });

  it('without the module list, the same keys are unexpected (only their order may differ)', () => {
    for (const c of cases) {
      const withModules = matchStateDict(expectedOf(c), c.checkpoint, { modules: c.modules });
      const without = matchStateDict(expectedOf(c), c.checkpoint);
      expect([...without.unexpected].sort()).toEqual([...withModules.unexpected].sort());
      expect(without.ignored.sort()).toEqual(withModules.ignored.sort());
      expect(without.missing).toEqual(withModules.missing);
    }
  });

  it('a parsed file is a checkpoint: non-strict loading with a new head', () => {
    const file = parseSafetensors(serializeSafetensors({
      'conv.weight': { dtype: 'F32', shape: [4, 1, 3, 3], data: new Float32Array(36) },
      'fc.weight': { dtype: 'F32', shape: [10, 4], data: new Float32Array(40) },
      'fc.bias': { dtype: 'F32', shape: [10], data: new Float32Array(10) },
    }));
    const model = [{ name: 'conv.weight', shape: [4, 1, 3, 3] }, { name: 'head.weight', shape: [5, 4] }, { name: 'head.bias', shape: [5] }];
    const r = matchStateDict(model, file.tensors);
    // Unexpected keys of one module come in the file's order: its data order, here fc.bias before fc.weight.
    expect(r).toMatchObject({ matched: ['conv.weight'], missing: ['head.weight', 'head.bias'], unexpected: ['fc.bias', 'fc.weight'], mismatched: [] });
    expect(() => checkStateDict(r, { strict: false })).not.toThrow();
    expect(stateDictErrors(r)).toEqual(['Missing key(s) in state_dict: "head.weight", "head.bias". ', 'Unexpected key(s) in state_dict: "fc.bias", "fc.weight". ']);
  });

  it('matchedFloat32 converts every matched tensor first: BN\'s I64 counter, F16 weights, element 0 of a 1-d entry', () => {
    const file = parseSafetensors(serializeSafetensors({
      'bn.num_batches_tracked': { dtype: 'I64', shape: [1], data: [7] },
      'conv.weight': { dtype: 'F16', shape: [2], bytes: new Uint8Array([0x00, 0x3c, 0x00, 0xc0]) },
      'fc.bias': { dtype: 'F64', shape: [2], data: [0.1, 2] },
      'extra': { dtype: 'F64', shape: [1], data: [1e300] },
    }));
    const model = [{ name: 'bn.num_batches_tracked', shape: [] }, { name: 'conv.weight', shape: [2] }, { name: 'fc.bias', shape: [2] }];
    const m = matchStateDict(model, file.tensors);
    expect(m.firstElement).toEqual(['bn.num_batches_tracked']);
    expect([...matchedFloat32(file.tensors, m)].map(([k, v]) => [k, [...v]])).toEqual([
      ['bn.num_batches_tracked', [7]], ['conv.weight', [1, -2]], ['fc.bias', [Math.fround(0.1), 2]],
    ]);
    // A value that does not convert is refused before anything is returned.
    const bad = matchStateDict([...model, { name: 'extra', shape: [1] }], file.tensors);
    expect(() => matchedFloat32(file.tensors, bad)).toThrow(/tensor 'extra' \(F64\) element 0 is 1e\+300, beyond float32's range/);
  });

  it('bad input is refused by name', () => {
    expect(() => matchStateDict([{ name: 'a', shape: [1] }, { name: 'a', shape: [1] }], [])).toThrow(/expected tensor 1 has a missing or repeated name "a"/);
    expect(() => matchStateDict([{ name: 'a', shape: [-1] }], [])).toThrow(/expected tensor 'a' must have a shape of non-negative integers, got \[-1\]/);
    expect(() => matchStateDict([], [{ name: 'b', shape: '2' as never }])).toThrow(/checkpoint tensor 'b' must have a shape/);
    expect(() => matchStateDict([], [{ name: 'b', shape: [1] }, { name: 'b', shape: [1] }])).toThrow(/checkpoint tensor name "b" is missing or repeated/);
    expect(() => matchStateDict([], [], { modules: [''] })).toThrow(/module paths must be non-empty strings/);
  });
});

interface OptimCase { class: string; param_groups: TorchParamGroup[]; state: Record<string, { shape: number[]; float32_bits: number[] }> }
const optim = fixtureJson<{ optim: Record<string, OptimCase> }>('expected.json').optim;

describe('torch.optim state as safetensors', () => {
  it.each(Object.keys(optim))('optim_%s.safetensors (written from torch) reads back to torch\'s state and groups', (name) => {
    const want = optim[name];
    const s = optimizerStateFromSafetensors(parseSafetensors(fixture(`optim_${name}.safetensors`)));
    expect(s.param_groups).toEqual(want.param_groups);
    for (const [key, t] of Object.entries(want.state)) {
      const [, i, slot] = key.split('.');
      const v = s.state.get(Number(i))![slot];
      if (typeof v === 'number') expect(bits(new Float32Array([v]))).toEqual(t.float32_bits);
      else expect([v.shape, bits(v.data)]).toEqual([t.shape, t.float32_bits]);
    }
    expect([...stateByName(s).keys()].sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    // Through the writer and back: the same state.
    const out = optimizerStateToSafetensors(s);
    const again = optimizerStateFromSafetensors(parseSafetensors(serializeSafetensors(out.tensors, out.metadata)));
    expect(again).toEqual(s);
  });

  it('torchOptimizerState numbers parameters through the groups as torch does and keeps their names', () => {
    const s = torchOptimizerState(
      [{ params: ['conv.weight', 'fc.weight'], options: { lr: 1e-3, betas: [0.9, 0.999], weight_decay: 0.01 } }, { params: ['conv.bias', 'fc.bias'], options: { lr: 1e-2, weight_decay: 0 } }],
      new Map([['fc.bias', { step: 3, exp_avg: { shape: [2], data: new Float32Array([1, 2]) } }], ['conv.weight', { step: 3, exp_avg: { shape: [1, 1], data: new Float32Array([5]) } }]]),
    );
    expect(s.param_groups).toEqual([
      { lr: 1e-3, betas: [0.9, 0.999], weight_decay: 0.01, params: [0, 1], param_names: ['conv.weight', 'fc.weight'] },
      { lr: 1e-2, weight_decay: 0, params: [2, 3], param_names: ['conv.bias', 'fc.bias'] },
    ]);
    const { tensors, metadata } = optimizerStateToSafetensors(s);
    expect(tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['state.3.step', 'F32', []], ['state.3.exp_avg', 'F32', [2]], ['state.0.step', 'F32', []], ['state.0.exp_avg', 'F32', [1, 1]],
    ]);
    expect(JSON.parse(metadata.param_groups)).toEqual(s.param_groups);
    const f = parseSafetensors(serializeSafetensors(tensors, metadata));
    expect(f.tensors.get('state.0.step')!.scalar()).toBe(3);
    expect(stateByName(optimizerStateFromSafetensors(f)).get('fc.bias')!.exp_avg).toEqual({ shape: [2], data: new Float32Array([1, 2]) });
  });

  const groups = [{ lr: 0.1, params: [0, 1], param_names: ['a', 'b'] }];
  const fileWith = (tensors: Record<string, number[]>, meta: Record<string, string> | null = { param_groups: JSON.stringify(groups) }) =>
    parseSafetensors(serializeSafetensors(Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.length === 1 ? [] : [v.length], data: v }])), meta));
  const state = (s: Partial<TorchOptimizerState>): TorchOptimizerState => ({ state: new Map(), param_groups: groups, ...s });

  it.each<[string, () => unknown, RegExp]>([
    ['no param_groups in the metadata', () => optimizerStateFromSafetensors(fileWith({}, null)), /__metadata__ has no 'param_groups': is it an optimizer state\?/],
    ['param_groups not JSON', () => optimizerStateFromSafetensors(fileWith({}, { param_groups: '[{' })), /__metadata__.param_groups is not valid JSON/],
    ['param_groups with Python\'s NaN', () => optimizerStateFromSafetensors(fileWith({}, { param_groups: '[{"lr": NaN, "params": [0]}]' })), /not valid JSON/],
    ['param_groups not an array', () => optimizerStateFromSafetensors(fileWith({}, { param_groups: '{}' })), /param_groups must be an array of groups, got Object/],
    ['a model tensor', () => optimizerStateFromSafetensors(fileWith({ 'fc.weight': [1, 2] })), /tensor 'fc.weight' is not named state.<index>.<slot>/],
    ['a leading zero', () => optimizerStateFromSafetensors(fileWith({ 'state.01.step': [1] })), /tensor 'state.01.step' is not named/],
    ['a dotted slot', () => optimizerStateFromSafetensors(fileWith({ 'state.0.a.b': [1] })), /tensor 'state.0.a.b' is not named/],
    ['an index no group holds', () => optimizerStateFromSafetensors(fileWith({ 'state.2.step': [1] })), /state for parameter index 2, which no param group holds/],
    ['an index twice', () => optimizerStateToSafetensors(state({ param_groups: [{ params: [0] }, { params: [0] }] })), /parameter index 0 appears in more than one place/],
    ['a negative index', () => optimizerStateToSafetensors(state({ param_groups: [{ params: [-1] }] })), /params holds -1, expected a non-negative integer index/],
    ['param_names of another length', () => optimizerStateToSafetensors(state({ param_groups: [{ params: [0, 1], param_names: ['a'] }] })), /param_names must be an array of 2 names/],
    ['a repeated param name', () => optimizerStateToSafetensors(state({ param_groups: [{ params: [0, 1], param_names: ['a', 'a'] }] })), /repeated name "a"/],
    ['groups with and without names', () => optimizerStateToSafetensors(state({ param_groups: [{ params: [0], param_names: ['a'] }, { params: [1] }] })), /must all have param_names or none; param_groups\[1\] differs/],
    ['a NaN hyper-parameter', () => optimizerStateToSafetensors(state({ param_groups: [{ params: [0], lr: NaN }] })), /param_groups\[0\].lr is NaN, which JSON cannot hold/],
    ['a Map hyper-parameter', () => optimizerStateToSafetensors(state({ param_groups: [{ params: [0], betas: new Map() as never }] })), /betas is Map, not a JSON value/],
    ['a dotted slot name', () => optimizerStateToSafetensors(state({ state: new Map([[0, { 'a.b': 1 }]]) })), /slot name 'a.b' of parameter 0 must be an identifier/],
    ['a step float32 cannot hold', () => optimizerStateToSafetensors(state({ state: new Map([[0, { step: 2 ** 24 + 1 }]]) })), /state\[0\].step is 16777217, which float32 \(torch's dtype for it\) cannot hold exactly/],
    ['values of the wrong length', () => optimizerStateToSafetensors(state({ state: new Map([[0, { exp_avg: { shape: [3], data: new Float32Array(2) } }]]) })), /state\[0\].exp_avg has 2 values but shape \[3\]/],
    ['values not a Float32Array', () => optimizerStateToSafetensors(state({ state: new Map([[0, { exp_avg: { shape: [2], data: [1, 2] as never } }]]) })), /must be a number or \{ shape, data: Float32Array \}/],
    ['state for an unknown name', () => torchOptimizerState([{ params: ['a'], options: {} }], new Map([['b', {}]])), /state for 'b', which is in no group \(groups hold: a\)/],
    ['a name in two groups', () => torchOptimizerState([{ params: ['a'], options: {} }, { params: ['a'], options: {} }], new Map()), /groups\[1\].params\[0\] is a missing or repeated name "a"/],
    ['stateByName without names', () => stateByName(state({ param_groups: [{ params: [0] }] })), /param_groups\[0\] has no param_names/],
  ])('%s is refused by name', (_, fn, message) => {
    expect(fn).toThrow(message);
    try {
      fn();
    } catch (e) {
      expect(e instanceof TypeError || e instanceof RangeError).toBe(true);
    }
  });
});
