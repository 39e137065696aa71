// Switching strategy during fit, each switch recorded with its reason and step:
//   'swats'   Keskar & Socher 2017: fit trains with the SWATS optimizer (Adam's options), which moves each
//             group to SGD once the projected SGD rate has stabilised, carrying that rate (optim/swats.ts);
//             fit reports each group's switch from the optimizer's lastStep()
//   rules     at an epoch's end, on a plateau of a monitored metric (patience, cooldown, minDelta) or on
//             overfitting (validation loss rising while the training loss falls, for `patience` epochs in a
//             row), the optimizer and/or the schedule are replaced by the rule's; each rule fires once
// The policy's position (counters, fired rules, events) is part of the checkpoint, so a run resumed before
// or after a switch goes on bitwise as if it had never stopped.
import { checkInt, checkKeys, checkNumber, describe } from '../errors.js';
import type { OptimizerConfig, OptimizerName } from '../optim/index.js';
import type { ScheduleConfig } from './schedules.js';

export interface SwitchRule {
  /** 'plateau': the monitored metric stops improving; 'overfit': validation loss rises as training loss falls. */
  on: 'plateau' | 'overfit';
  /** plateau only: 'valLoss' (default with validationData), 'loss' (default without), or 'valAccuracy'. */
  monitor?: 'loss' | 'valLoss' | 'valAccuracy';
  /** Epochs without improvement (plateau, default 3) or of rising validation loss (overfit, default 2). */
  patience?: number;
  /** plateau: an improvement smaller than this does not count, default 0. */
  minDelta?: number;
  /** Epochs after any switch before this rule may fire, default 0. */
  cooldown?: number;
  /** What to switch to: a new optimizer (fresh state) and/or a new schedule (null: none). */
  to: { optimizer?: OptimizerConfig | OptimizerName; schedule?: ScheduleConfig | null };
}

export type SwitchPolicy = 'swats' | { type: 'swats' } | SwitchRule | readonly SwitchRule[];

/** One switch, as recorded in `history.switches` and sent to `callbacks.onSwitch`. */
export interface SwitchEvent {
  epoch: number;
  /** Optimizer steps taken before the switch (in this and earlier fits of a resumed run). */
  step: number;
  reason: string;
  /** The optimizer type before and after (and the carried rate for SWATS). */
  from: string;
  to: string;
  lr: number;
}

/** A rules policy's position: per rule, its counter, whether it fired; and epochs since the last switch. */
export interface SwitchState {
  rules: { count: number; best: number | null; fired: boolean }[];
  sinceSwitch: number;
  prev: { loss: number; valLoss: number | null } | null;
}

export interface ResolvedRule extends Required<Omit<SwitchRule, 'monitor' | 'to'>> {
  monitor: 'loss' | 'valLoss' | 'valAccuracy';
  to: SwitchRule['to'];
}

export type ResolvedPolicy = { type: 'swats' } | { type: 'rules'; rules: ResolvedRule[] };

export function resolveSwitch(where: string, v: unknown, hasVal: boolean): ResolvedPolicy | null {
  if (v === undefined) return null;
  if (v === 'swats') return { type: 'swats' };
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { type?: unknown }).type === 'swats') {
    checkKeys(`${where}: switch`, v, ['type']);
    return { type: 'swats' };
  }
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new TypeError(`${where}: switch must be 'swats', a rule or a non-empty list of rules`);
  return {
    type: 'rules',
    rules: list.map((r: unknown, i: number) => {
      const at = `${where}: switch${Array.isArray(v) ? `[${i}]` : ''}`;
      if (typeof r !== 'object' || r === null) throw new TypeError(`${at} must be 'swats' or a rule { on, to, … }, got ${describe(r)}`);
      checkKeys(at, r, ['on', 'monitor', 'patience', 'minDelta', 'cooldown', 'to']);
      const o = r as SwitchRule;
      if (o.on !== 'plateau' && o.on !== 'overfit') throw new TypeError(`${at}: on must be 'plateau' or 'overfit', got ${describe(o.on)}`);
      if (o.on === 'overfit' && !hasVal) throw new TypeError(`${at}: an 'overfit' rule watches the validation loss, which needs validationData`);
      const monitor = o.monitor ?? (hasVal ? 'valLoss' : 'loss');
      if (!['loss', 'valLoss', 'valAccuracy'].includes(monitor)) throw new TypeError(`${at}: monitor must be 'loss', 'valLoss' or 'valAccuracy', got ${describe(monitor)}`);
      if (monitor !== 'loss' && !hasVal) throw new TypeError(`${at}: monitor '${monitor}' needs validationData`);
      if (typeof o.to !== 'object' || o.to === null || (o.to.optimizer === undefined && o.to.schedule === undefined)) {
        throw new TypeError(`${at}: to must give an optimizer and/or a schedule, got ${describe(o.to)}`);
      }
      checkKeys(`${at}.to`, o.to, ['optimizer', 'schedule']);
      return {
        on: o.on,
        monitor,
        patience: checkInt(at, 'patience', o.patience ?? (o.on === 'plateau' ? 3 : 2), 1),
        minDelta: checkNumber(at, 'minDelta', o.minDelta ?? 0, 0),
        cooldown: checkInt(at, 'cooldown', o.cooldown ?? 0, 0),
        to: o.to,
      };
    }),
  };
}

export function initialState(p: ResolvedPolicy & { type: 'rules' }): SwitchState {
  return { rules: p.rules.map(() => ({ count: 0, best: null, fired: false })), sinceSwitch: Infinity, prev: null };
}

export function checkSwitchState(where: string, p: ResolvedPolicy & { type: 'rules' }, s: unknown): SwitchState {
  const w = `${where}: switch state`;
  if (typeof s !== 'object' || s === null) throw new TypeError(`${w} must be an object, got ${describe(s)}`);
  const st = s as SwitchState;
  if (!Array.isArray(st.rules) || st.rules.length !== p.rules.length) throw new RangeError(`${w}: has ${describe(st.rules)} rules, this policy ${p.rules.length}`);
  st.rules.forEach((r, i) => {
    checkInt(w, `rules[${i}].count`, r?.count, 0);
    if (r.best !== null) checkNumber(w, `rules[${i}].best`, r.best);
    if (typeof r.fired !== 'boolean') throw new TypeError(`${w}: rules[${i}].fired must be a boolean, got ${describe(r.fired)}`);
  });
  if (st.sinceSwitch !== null && st.sinceSwitch !== Infinity) checkInt(w, 'sinceSwitch', st.sinceSwitch, 0);
  return { rules: st.rules.map((r) => ({ ...r })), sinceSwitch: st.sinceSwitch ?? Infinity, prev: st.prev ? { ...st.prev } : null };
}

/** The epoch's verdict: the index of the rule that fires (at most one per epoch), with its reason, or null. */
export function epochEnd(p: ResolvedPolicy & { type: 'rules' }, s: SwitchState, m: { loss: number; valLoss?: number; valAccuracy?: number }): { rule: number; reason: string } | null {
  s.sinceSwitch++;
  let fired: { rule: number; reason: string } | null = null;
  p.rules.forEach((r, i) => {
    const st = s.rules[i];
    if (st.fired) return;
    if (r.on === 'plateau') {
      const value = r.monitor === 'loss' ? m.loss : r.monitor === 'valLoss' ? m.valLoss! : m.valAccuracy!;
      const sign = r.monitor === 'valAccuracy' ? -1 : 1;
      if (st.best === null || sign * (st.best - value) > r.minDelta) {
        st.best = value;
        st.count = 0;
      } else {
        st.count++;
      }
      if (!fired && st.count >= r.patience && s.sinceSwitch > r.cooldown) {
        fired = { rule: i, reason: `${r.monitor} did not improve on ${st.best} for ${st.count} epochs (patience ${r.patience})` };
      }
    } else {
      const prev = s.prev;
      const rising = prev !== null && prev.valLoss !== null && m.valLoss! > prev.valLoss && m.loss < prev.loss;
      st.count = rising ? st.count + 1 : 0;
      if (!fired && st.count >= r.patience && s.sinceSwitch > r.cooldown) {
        fired = { rule: i, reason: `overfitting: the validation loss rose while the training loss fell for ${st.count} epochs in a row (patience ${r.patience})` };
      }
    }
  });
  s.prev = { loss: m.loss, valLoss: m.valLoss ?? null };
  if (fired) {
    const f = fired as { rule: number };
    s.rules[f.rule].fired = true;
    s.sinceSwitch = 0;
  }
  return fired;
}
