// Option checking shared by the optimizer configs: every bad value is an error naming the optimizer, the
// option, what was expected and what was given, thrown before anything is allocated.
import { checkKeys, checkNumber, describe } from '../errors.js';
import type { ParamGroup } from './layout.js';

/** Where ε sits in an adaptive denominator: `√v + ε` (PyTorch) or `√(v + ε)` (Keras / TF). */
export type EpsMode = 'outside' | 'inside';
export const EPS_MODES: readonly EpsMode[] = ['outside', 'inside'];

/** Whose defaults a config starts from; explicit options override them. */
export type Preset = 'pytorch' | 'keras';
export const PRESETS: readonly Preset[] = ['pytorch', 'keras'];

/** Options every optimizer config accepts. */
export interface CommonConfig {
  /** Per-tensor options by name pattern (see ParamGroup); default none. */
  paramGroups?: ParamGroup[];
}

/** Checks a config object: a plain object whose keys are all known (a typo must not be silently ignored). */
export function checkConfig(where: string, cfg: unknown, known: readonly string[]): Record<string, unknown> {
  if (cfg === undefined) return {};
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    throw new TypeError(`${where}: options must be an object, got ${describe(cfg)}`);
  }
  checkKeys(where, cfg, known);
  return cfg as Record<string, unknown>;
}

export function checkEnum<T extends string>(where: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) {
    throw new TypeError(`${where}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

/** The defaults of the preset the config names ('pytorch' when it names none). */
export function presetDefaults<D>(where: string, c: Record<string, unknown>, table: Record<Preset, D>): D {
  return table[checkEnum(where, 'preset', c.preset ?? 'pytorch', PRESETS)];
}

/** A learning rate: a finite number ≥ 0. */
export function checkLr(where: string, v: unknown): number {
  return checkNumber(where, 'lr', v, 0);
}

/** ε: a finite number > 0. */
export function checkEps(where: string, v: unknown, name = 'eps'): number {
  return checkNumber(where, name, v, 0, Infinity, { loOpen: true });
}

/** A pair [β₁, β₂] with each in [0, 1). */
export function checkBetas(where: string, v: unknown): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) {
    throw new TypeError(`${where}: betas must be a pair [beta1, beta2], got ${describe(v)}`);
  }
  return [checkNumber(where, 'betas[0]', v[0], 0, 1, { hiOpen: true }), checkNumber(where, 'betas[1]', v[1], 0, 1, { hiOpen: true })];
}
