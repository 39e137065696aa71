// What an optimizer steps over: named tensors at float offsets in one flat buffer, each resolved to a
// parameter group (glob patterns over names), and the runs of adjacent tensors that share a group, so a
// step is one fused kernel call per run rather than per tensor.
import { checkBool, checkInt, checkNumber, describe } from '../errors.js';

/** One parameter tensor in the flat buffer (offset and length in floats). */
export interface ParamTensor {
  name: string;
  offset: number;
  length: number;
  shape: number[];
}

/** The flat buffer an optimizer updates: its length (padding included) and the tensors in it. */
export interface OptimizerTarget {
  size: number;
  tensors: readonly ParamTensor[];
}

/**
 * Options for some of the parameters, as in PyTorch's `param_groups`. `params` are glob patterns over
 * parameter names (`*` any run of characters, `?` one character): `'conv2d_0.*'`, `'*.bias'`, or exact
 * names. The first group with a matching pattern applies to a tensor; tensors no group matches use the
 * optimizer's own options.
 */
export interface ParamGroup {
  params: string | string[];
  /** This group's rate is `lr × lrScale` (default 1). */
  lrScale?: number;
  /** This group's weight decay is `weightDecay × weightDecayScale` (default 1; 0 exempts, e.g. biases). */
  weightDecayScale?: number;
  /** Not updated at all: parameters, state slots and delta stay as they are (delta 0). Default false. */
  frozen?: boolean;
}

/** A ParamGroup with every field filled in (as it appears in an optimizer's `config`). */
export interface ResolvedParamGroup {
  params: string[];
  lrScale: number;
  weightDecayScale: number;
  frozen: boolean;
}

/** A tensor with its group resolved: `group` indexes `config.paramGroups`, or is null for none. */
export interface LayoutEntry extends ParamTensor {
  group: number | null;
  lrScale: number;
  weightDecayScale: number;
  frozen: boolean;
}

/** Adjacent tensors (no padding between them) of one group, stepped by one kernel call. */
export interface Run {
  offset: number;
  length: number;
  lrScale: number;
  weightDecayScale: number;
  tensors: LayoutEntry[];
}

const GROUP_KEYS = ['params', 'lrScale', 'weightDecayScale', 'frozen'];

/** Validates `paramGroups` as given in a config (the names are matched later, against a layout). */
export function resolveParamGroups(where: string, groups: unknown): ResolvedParamGroup[] {
  if (groups === undefined) return [];
  if (!Array.isArray(groups)) throw new TypeError(`${where}: paramGroups must be an array of groups, got ${describe(groups)}`);
  return groups.map((g, i) => {
    const at = `paramGroups[${i}]`;
    if (typeof g !== 'object' || g === null || Array.isArray(g)) {
      throw new TypeError(`${where}: ${at} must be an object like { params: '*.bias', lrScale: 0.1 }, got ${describe(g)}`);
    }
    for (const k of Object.keys(g)) {
      if (!GROUP_KEYS.includes(k)) throw new TypeError(`${where}: ${at} has unknown option '${k}' (known: ${GROUP_KEYS.join(', ')})`);
    }
    const o = g as Record<string, unknown>;
    const params = typeof o.params === 'string' ? [o.params] : o.params;
    if (!Array.isArray(params) || params.length === 0 || !params.every((p) => typeof p === 'string' && p.length > 0)) {
      throw new TypeError(`${where}: ${at}.params must be a name pattern or a non-empty array of them, got ${describe(o.params)}`);
    }
    return {
      params: [...params],
      lrScale: checkNumber(where, `${at}.lrScale`, o.lrScale ?? 1, 0),
      weightDecayScale: checkNumber(where, `${at}.weightDecayScale`, o.weightDecayScale ?? 1, 0),
      frozen: checkBool(where, `${at}.frozen`, o.frozen ?? false),
    };
  });
}

/** A glob (`*`, `?`) as an anchored RegExp; every other character is literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Checks a target: tensors in offset order, inside the buffer, not overlapping, uniquely named. */
export function checkTarget(where: string, target: OptimizerTarget): OptimizerTarget {
  const size = checkInt(where, 'size', target.size, 0);
  const names = new Set<string>();
  let end = 0;
  target.tensors.forEach((t, i) => {
    if (typeof t.name !== 'string' || names.has(t.name)) throw new TypeError(`${where}: tensor ${i} has a missing or repeated name ${describe(t.name)}`);
    names.add(t.name);
    checkInt(where, `${t.name}.offset`, t.offset, end, size);
    checkInt(where, `${t.name}.length`, t.length, 0, size - t.offset);
    if (!Array.isArray(t.shape) || t.shape.reduce((a, d) => a * d, 1) !== t.length) {
      throw new RangeError(`${where}: ${t.name} has shape ${describe(t.shape)} but length ${t.length}`);
    }
    end = t.offset + t.length;
  });
  return { size, tensors: target.tensors.map((t) => ({ ...t, shape: [...t.shape] })) };
}

/** Resolves each tensor's group; a pattern that matches no tensor is an error naming it. */
export function resolveLayout(where: string, tensors: readonly ParamTensor[], groups: readonly ResolvedParamGroup[]): LayoutEntry[] {
  const compiled = groups.map((g) => g.params.map((p) => ({ p, re: globToRegExp(p) })));
  for (const pats of compiled) {
    for (const { p, re } of pats) {
      if (!tensors.some((t) => re.test(t.name))) {
        throw new RangeError(`${where}: paramGroups pattern '${p}' matches no parameter (known: ${tensors.map((t) => t.name).join(', ')})`);
      }
    }
  }
  return tensors.map((t) => {
    const gi = compiled.findIndex((pats) => pats.some(({ re }) => re.test(t.name)));
    const g = gi >= 0 ? groups[gi] : null;
    return { ...t, shape: [...t.shape], group: g ? gi : null, lrScale: g?.lrScale ?? 1, weightDecayScale: g?.weightDecayScale ?? 1, frozen: g?.frozen ?? false };
  });
}

/**
 * The runs to step: non-frozen tensors, merged with the previous one when they touch (no padding between)
 * and share a group; `perTensor` keeps every tensor separate (Adafactor's statistics are per tensor).
 * Empty tensors are skipped.
 */
export function makeRuns(layout: readonly LayoutEntry[], perTensor: boolean): Run[] {
  const runs: Run[] = [];
  for (const t of layout) {
    if (t.frozen || t.length === 0) continue;
    const last = runs[runs.length - 1];
    const prev = last?.tensors[last.tensors.length - 1];
    if (!perTensor && last && prev!.group === t.group && last.offset + last.length === t.offset) {
      last.length += t.length;
      last.tensors.push(t);
    } else {
      runs.push({ offset: t.offset, length: t.length, lrScale: t.lrScale, weightDecayScale: t.weightDecayScale, tensors: [t] });
    }
  }
  return runs;
}

/** The ranges of [0, size) no run covers (padding and frozen tensors): [start, end) pairs. */
export function gapsOf(runs: readonly Run[], size: number): [number, number][] {
  const gaps: [number, number][] = [];
  let at = 0;
  for (const r of runs) {
    if (r.offset > at) gaps.push([at, r.offset]);
    at = r.offset + r.length;
  }
  if (at < size) gaps.push([at, size]);
  return gaps;
}
