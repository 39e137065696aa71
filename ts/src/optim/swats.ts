// SWATS (Keskar & Socher 2017) as torch-optimizer 0.3.0's SWATS; the formula, and the reference's
// surprises this follows, live beside the kernel in crates/core/src/optim/swats.rs:
//
//   Adam (ε on the raw √v, rate lr·√(1−β₂ᵗ)/(1−β₁ᵗ)) until, for a tensor's step u, the bias-corrected
//   average Λ of γ = u·u/(−u·g) meets |Λ − γ| ≤ 1e-8 + 1e-6·|γ| (torch.allclose); then that tensor's whole
//   parameter group takes momentum SGD (β₁) at rate Λ, from its later tensors in that same step on.
//
// A group is one of paramGroups, or the tensors no group matches; each switches on its own. After the
// switch a group's rate is Λ·lr/lr_then (Λ while lr stays; a schedule keeps scaling it). Defaults
// (torch-optimizer): lr 1e-3, betas [0.9, 0.999], eps 1e-3 (> 0 here: with ε 0 a zero gradient is 0/0),
// weightDecay 0 (coupled), amsgrad false, nesterov false. Slots: exp_avg, exp_avg_sq, max_exp_avg_sq
// (amsgrad), momentum_buffer. Scalars (saved with the state, so a checkpoint before or after the switch
// resumes bitwise): per tensor λ and a flag, per group phase, Λ, switch step, lr then.
import { checkBool, checkNumber, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import type { LastStep, OptimizerState, OptimizerTargetLike, PhaseSwitch } from './optimizer.js';
import { TableOptimizer } from './table.js';

export interface SWATSConfig extends CommonConfig {
  /** The Adam phase's rate; default 1e-3. */
  lr?: number;
  /** β₁ is also the SGD phase's momentum; default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-3 (> 0). */
  eps?: number;
  /** Coupled L2 decay, both phases; default 0. */
  weightDecay?: number;
  /** Adam phase: running maximum of the second moment; default false. */
  amsgrad?: boolean;
  /** SGD phase: Nesterov momentum (as the reference applies it); default false. */
  nesterov?: boolean;
}

export interface ResolvedSWATSConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  nesterov: boolean;
  paramGroups: ResolvedParamGroup[];
}

export function resolveSWATS(cfg?: SWATSConfig): ResolvedSWATSConfig {
  const w = 'SWATS';
  const c = checkConfig(w, cfg, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'nesterov', 'paramGroups']);
  return {
    lr: checkLr(w, c.lr ?? 1e-3),
    betas: checkBetas(w, c.betas ?? [0.9, 0.999]),
    eps: checkEps(w, c.eps ?? 1e-3),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    amsgrad: checkBool(w, 'amsgrad', c.amsgrad ?? false),
    nesterov: checkBool(w, 'nesterov', c.nesterov ?? false),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

/** One parameter group's phase: `group` indexes paramGroups (null: the tensors no group matches). */
export interface SWATSGroupPhase {
  group: number | null;
  phase: 'adam' | 'sgd';
  /** The step the group switched to SGD at, or null. */
  switchStep: number | null;
  /** The SGD rate of the next step (Λ·lr/lr_then), or null in the Adam phase. */
  sgdRate: number | null;
  /** Λ, the rate carried at the switch, or null. */
  carriedRate: number | null;
}

/** core swats::RUN_SCALARS, GROUP_SCALARS. */
const RUN_SCALARS = 2;
const GROUP_SCALARS = 4;

export class SWATS extends TableOptimizer {
  readonly options: ResolvedSWATSConfig;
  /** Each run's group slot (paramGroups index, or paramGroups.length for no group), as f64. */
  readonly #groups: F32Buffer;
  readonly #ngroups: number;
  #stepped = false;

  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: SWATSConfig) {
    const o = resolveSWATS(cfg);
    const ngroups = o.paramGroups.length + 1;
    super(engine, 'swats', 'SWATS', target, o.paramGroups, {
      perTensor: true,
      scalars: (runs) => new Array<number>(runs.length * RUN_SCALARS + ngroups * GROUP_SCALARS).fill(0),
    });
    this.options = o;
    this.#ngroups = ngroups;
    this.lr = o.lr;
    this.slot('exp_avg');
    this.slot('exp_avg_sq', 0, this.size, { nonNegative: true });
    if (o.amsgrad) this.slot('max_exp_avg_sq', 0, this.size, { nonNegative: true });
    this.slot('momentum_buffer');
    this.#groups = engine.alloc(2 * Math.max(this.runs.length, 1), 'SWATS run groups');
    new Float64Array(engine.exports.memory.buffer, this.#groups.ptr, this.runs.length).set(this.runs.map((r) => r.tensors[0].group ?? o.paramGroups.length));
  }

  protected call(p: number, g: number, d: number, t: number): void {
    const o = this.options;
    this.engine.exports.wcnn_swats_step(
      p, g, this.size, this.tablePtr, this.runCount, this.#groups.ptr, this.#ngroups,
      this.at('exp_avg', 0), this.at('exp_avg_sq', 0), this.at('max_exp_avg_sq', 0), this.at('momentum_buffer', 0), this.scalarsPtr,
      this.lr, o.betas[0], o.betas[1], o.eps, o.weightDecay, t, +o.nesterov, d, this.outPtr,
    );
    this.#stepped = true;
  }

  /** Every group's phase, in paramGroups order, then the tensors no group matches (see SWATSGroupPhase). */
  get phases(): SWATSGroupPhase[] {
    this.alive();
    const s = this.scalarValues();
    const at = this.runs.length * RUN_SCALARS;
    return Array.from({ length: this.#ngroups }, (_, k) => {
      const [phase, carried, step, lrThen] = s.slice(at + k * GROUP_SCALARS, at + (k + 1) * GROUP_SCALARS);
      const sgd = phase !== 0;
      return {
        group: k < this.options.paramGroups.length ? k : null,
        phase: sgd ? 'sgd' : 'adam',
        switchStep: sgd ? step : null,
        sgdRate: sgd ? carried * (this.lr / lrThen) : null,
        carriedRate: sgd ? carried : null,
      };
    });
  }

  /** 'adam' until a group switches, 'sgd' once every group that steps has, 'mixed' between. */
  get phase(): 'adam' | 'sgd' | 'mixed' {
    const live = this.#liveGroups();
    if (live.every((g) => g.phase === 'adam')) return 'adam';
    return live.every((g) => g.phase === 'sgd') ? 'sgd' : 'mixed';
  }

  /** The step of the first switch, or null. */
  get switchStep(): number | null {
    const steps = this.#liveGroups().flatMap((g) => (g.switchStep === null ? [] : [g.switchStep]));
    return steps.length > 0 ? Math.min(...steps) : null;
  }

  /** The next step's SGD rate of the group that switched first, or null before any switch. */
  get sgdRate(): number | null {
    const first = this.switchStep;
    return first === null ? null : this.#liveGroups().find((g) => g.switchStep === first)!.sgdRate;
  }

  /** The groups some run steps (frozen or empty groups have no phase that matters). */
  #liveGroups(): SWATSGroupPhase[] {
    const all = this.phases;
    const used = new Set(this.runs.map((r) => r.tensors[0].group ?? this.options.paramGroups.length));
    return all.filter((_, k) => used.has(k));
  }

  /** Adds the switches of the last step; `lr` is the first run's rate (its SGD rate once it steps by SGD). */
  override lastStep(): LastStep {
    const base = super.lastStep();
    if (!this.#stepped) return base;
    const phases = this.phases;
    const first = this.runs.findIndex((r) => r.lrScale !== 0);
    // A run's flag is set by its first SGD step, and its group never leaves SGD: set means the last step was SGD.
    if (first >= 0 && this.scalarValues()[first * RUN_SCALARS + 1] === 1) base.lr = base.tensorLr[this.layout.indexOf(this.runs[first].tensors[0])];
    const switched: PhaseSwitch[] = phases
      .filter((g) => g.switchStep === this.steps)
      .map((g) => ({ group: g.group, step: this.steps, from: 'adam', to: 'sgd', rate: g.carriedRate! }));
    return switched.length > 0 ? { ...base, switched } : base;
  }

  protected override checkScalars(s: OptimizerState, where: string): void {
    super.checkScalars(s, where);
    const v = s.scalars!;
    const at = this.runs.length * RUN_SCALARS;
    for (let k = 0; k < this.runs.length; k++) {
      const flag = v[k * RUN_SCALARS + 1];
      if (flag !== 0 && flag !== 1) throw new RangeError(`${where}: scalars[${k * RUN_SCALARS + 1}] (a momentum-buffer flag) must be 0 or 1, got ${describe(flag)}`);
    }
    for (let k = 0; k < this.#ngroups; k++) {
      const i = at + k * GROUP_SCALARS;
      const [phase, carried, step, lrThen] = v.slice(i, i + GROUP_SCALARS);
      const ok = phase === 0
        ? carried === 0 && step === 0 && lrThen === 0
        : phase === 1 && carried > 0 && Number.isInteger(step) && step >= 2 && step <= s.steps && lrThen > 0;
      if (!ok) {
        throw new RangeError(
          `${where}: scalars[${i}..${i + GROUP_SCALARS - 1}] (a group's phase, carried rate, switch step, lr then) must be all 0 (Adam) or 1, > 0, a step in [2, ${s.steps}], > 0 (SGD), got [${[phase, carried, step, lrThen].join(', ')}]`,
        );
      }
    }
  }

  protected override restoreScalars(s: OptimizerState): void {
    super.restoreScalars(s);
    this.#stepped = false;
  }

  get config(): { type: 'swats' } & ResolvedSWATSConfig {
    return { type: 'swats', ...structuredClone(this.options), lr: this.lr };
  }

  override dispose(): void {
    if (this.disposed) return;
    this.#groups.dispose();
    super.dispose();
  }
}
