// Learning-rate schedules, exact to torch.optim.lr_scheduler (1.13): the same formulas evaluated in the same
// order in float64, including torch's recursive ("chainable") forms, so a run gives torch's rates to the last
// bit or two (Math.cos and glibc's cos may differ by an ulp). Pure TS: a schedule only computes a number; the
// caller sets `optimizer.lr = schedule.lr()` before each epoch or step and calls `step()` after it.
//
//   step            StepLR             lr ← lr·γ at every multiple of stepSize
//   multiStep       MultiStepLR        lr ← lr·γ at each milestone
//   exponential     ExponentialLR      lr ← lr·γ every step
//   cosine          CosineAnnealingLR  η_min + (η₀ − η_min)(1 + cos(πt/tMax))/2, recursively; past tMax it rises
//                                      again (torch's recursion is periodic with period 2·tMax, it does not stop)
//                   + warm-up          SequentialLR(LinearLR(warmupStartFactor → 1 over `warmup` steps),
//                                      CosineAnnealingLR(tMax, etaMin), milestones=[warmup]): tMax counts the
//                                      steps after the warm-up
//   oneCycle        OneCycleLR         maxLr/divFactor → maxLr → maxLr/divFactor/finalDivFactor (baseLr ignored,
//                                      as torch overrides the optimizer's lr); momentum is not cycled
//   reduceOnPlateau ReduceLROnPlateau  lr ← max(lr·factor, minLr) after more than `patience` bad steps
//
// Step 0's rate is the initial one (torch's scheduler construction); each step() moves to the next.
import { checkBool, checkInt, checkKeys, checkNumber, describe } from '../errors.js';

/** When `fit` calls `step()`: after every epoch (default) or after every optimizer step (oneCycle's default). */
export type ScheduleEvery = 'epoch' | 'batch';

interface Common {
  /** When fit() steps the schedule; default 'epoch', except oneCycle: 'batch'. */
  every?: ScheduleEvery;
}
export interface StepScheduleConfig extends Common {
  type: 'step';
  /** Steps between decays (torch's step_size). */
  stepSize: number;
  /** Decay factor, default 0.1. */
  gamma?: number;
}
export interface MultiStepScheduleConfig extends Common {
  type: 'multiStep';
  /** Strictly increasing step counts (≥ 1) at which the rate is multiplied by gamma. */
  milestones: number[];
  /** Decay factor, default 0.1. */
  gamma?: number;
}
export interface ExponentialScheduleConfig extends Common {
  type: 'exponential';
  gamma: number;
}
export interface CosineScheduleConfig extends Common {
  type: 'cosine';
  /** Steps from the initial rate down to etaMin (after the warm-up, if any). */
  tMax: number;
  /** Floor of the cosine, default 0. */
  etaMin?: number;
  /** Steps of linear warm-up before the cosine, default 0. */
  warmup?: number;
  /** The warm-up's first rate as a fraction of baseLr (LinearLR's start_factor), default 1/3. */
  warmupStartFactor?: number;
}
export interface OneCycleScheduleConfig extends Common {
  type: 'oneCycle';
  /** Peak rate; the cycle starts at maxLr/divFactor. */
  maxLr: number;
  /** Steps in the cycle; step() may be called this many times (torch's total_steps). */
  totalSteps: number;
  /** Fraction of the cycle spent rising, default 0.3. */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** initial rate = maxLr / divFactor, default 25. */
  divFactor?: number;
  /** final rate = initial rate / finalDivFactor, default 1e4. */
  finalDivFactor?: number;
  /** Rise, fall back to the initial rate, then anneal to the final one (the paper's version), default false. */
  threePhase?: boolean;
}
export interface ReduceOnPlateauScheduleConfig extends Common {
  type: 'reduceOnPlateau';
  /** Whether the monitored metric should fall ('min', default) or rise. */
  mode?: 'min' | 'max';
  /** lr ← lr·factor on a plateau, default 0.1. */
  factor?: number;
  /** Bad steps tolerated before reducing, default 10. */
  patience?: number;
  /** Minimum change that counts as an improvement, default 1e-4. */
  threshold?: number;
  /** 'rel' (default): better than best·(1 ∓ threshold); 'abs': better than best ∓ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Steps after a reduction during which bad steps are not counted, default 0. */
  cooldown?: number;
  /** Lower bound on the rate, default 0. */
  minLr?: number;
  /** Reductions smaller than this are skipped, default 1e-8. */
  eps?: number;
}

export type ScheduleConfig =
  | StepScheduleConfig
  | MultiStepScheduleConfig
  | ExponentialScheduleConfig
  | CosineScheduleConfig
  | OneCycleScheduleConfig
  | ReduceOnPlateauScheduleConfig;

export type ScheduleType = ScheduleConfig['type'];

/** A config with every default filled in (what `Schedule.config` holds). */
export type ResolvedScheduleConfig = { [K in ScheduleType]: Required<Extract<ScheduleConfig, { type: K }>> }[ScheduleType];

export const SCHEDULES: readonly ScheduleType[] = ['step', 'multiStep', 'exponential', 'cosine', 'oneCycle', 'reduceOnPlateau'];

/** A schedule's position, as plain JSON. */
export interface ScheduleState {
  type: ScheduleType;
  /** The resolved config and base rate it was saved from; loadState refuses different ones. */
  config: ResolvedScheduleConfig;
  baseLr: number;
  /** step() calls so far. */
  steps: number;
  /** The rate in effect now (the recursive forms continue from it). */
  lr: number;
  /** reduceOnPlateau only: best metric so far (null before the first), bad steps, cooldown steps left. */
  plateau?: { best: number | null; badEpochs: number; cooldownCounter: number };
}

export interface Schedule {
  /** The config with every default filled in. */
  readonly config: Readonly<ResolvedScheduleConfig>;
  /** The learning rate for the next optimizer step / epoch. */
  lr(): number;
  /** Advances one unit; reduceOnPlateau needs the monitored metric (the others ignore it). */
  step(metric?: number): void;
  /** step() calls so far (torch's last_epoch). */
  readonly steps: number;
  saveState(): ScheduleState;
  /** Throws unless `s` is a state this schedule can load (changes nothing). */
  checkState(s: ScheduleState): void;
  /** Validates before changing anything; resuming gives the same rates as never stopping. */
  loadState(s: ScheduleState): void;
}

/** Builds a schedule over `baseLr` (the optimizer's rate; oneCycle ignores it). Validates every option. */
export function createSchedule(cfg: ScheduleConfig, baseLr: number): Schedule {
  const config = resolveSchedule(cfg);
  if (config.type !== 'oneCycle') checkNumber(`${config.type} schedule`, 'baseLr', baseLr, 0);
  return new LrSchedule(config, baseLr);
}

// ---------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------

const KEYS: { [K in ScheduleType]: readonly string[] } = {
  step: ['stepSize', 'gamma'],
  multiStep: ['milestones', 'gamma'],
  exponential: ['gamma'],
  cosine: ['tMax', 'etaMin', 'warmup', 'warmupStartFactor'],
  oneCycle: ['maxLr', 'totalSteps', 'pctStart', 'annealStrategy', 'divFactor', 'finalDivFactor', 'threePhase'],
  reduceOnPlateau: ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'],
};

function checkOneOf<T extends string>(where: string, name: string, v: unknown, options: readonly T[]): T {
  if (!options.includes(v as T)) {
    throw new TypeError(`${where}: ${name} must be one of ${options.map((o) => `'${o}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

const POSITIVE = { loOpen: true };

/** Checks a config and fills in its defaults. */
export function resolveSchedule(cfg: ScheduleConfig): ResolvedScheduleConfig {
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    throw new TypeError(`schedule: expected a config object like { type: 'cosine', tMax: 50 }, got ${describe(cfg)}`);
  }
  const type = (cfg as { type?: unknown }).type;
  if (!SCHEDULES.includes(type as ScheduleType)) {
    throw new TypeError(`schedule: unknown type ${describe(type)} (known: ${SCHEDULES.join(', ')})`);
  }
  const w = `${type as ScheduleType} schedule`;
  checkKeys(w, cfg, ['type', 'every', ...KEYS[type as ScheduleType]]);
  const c = cfg as unknown as Record<string, unknown>;
  const every = checkOneOf(w, 'every', c.every ?? (type === 'oneCycle' ? 'batch' : 'epoch'), ['epoch', 'batch'] as const);
  switch (cfg.type) {
    case 'step':
      return {
        type: 'step',
        every,
        stepSize: checkInt(w, 'stepSize', cfg.stepSize, 1),
        gamma: checkNumber(w, 'gamma', cfg.gamma ?? 0.1, 0, Infinity, POSITIVE),
      };
    case 'multiStep': {
      const m = cfg.milestones;
      if (!Array.isArray(m)) throw new TypeError(`${w}: milestones must be an array of step counts, got ${describe(m)}`);
      m.forEach((v, i) => checkInt(w, `milestones[${i}]`, v, 1));
      for (let i = 1; i < m.length; i++) {
        if (m[i] <= m[i - 1]) throw new RangeError(`${w}: milestones must be strictly increasing, got ${describe(m)}`);
      }
      return { type: 'multiStep', every, milestones: [...m], gamma: checkNumber(w, 'gamma', cfg.gamma ?? 0.1, 0, Infinity, POSITIVE) };
    }
    case 'exponential':
      return { type: 'exponential', every, gamma: checkNumber(w, 'gamma', cfg.gamma, 0, Infinity, POSITIVE) };
    case 'cosine':
      return {
        type: 'cosine',
        every,
        tMax: checkInt(w, 'tMax', cfg.tMax, 1),
        etaMin: checkNumber(w, 'etaMin', cfg.etaMin ?? 0, 0),
        warmup: checkInt(w, 'warmup', cfg.warmup ?? 0, 0),
        // LinearLR's own check is [0, 1]; a start factor of 0 would make its recursion divide by zero.
        warmupStartFactor: checkNumber(w, 'warmupStartFactor', cfg.warmupStartFactor ?? 1 / 3, 0, 1, POSITIVE),
      };
    case 'oneCycle': {
      const r: Required<OneCycleScheduleConfig> = {
        type: 'oneCycle',
        every,
        maxLr: checkNumber(w, 'maxLr', cfg.maxLr, 0, Infinity, POSITIVE),
        totalSteps: checkInt(w, 'totalSteps', cfg.totalSteps, 1),
        pctStart: checkNumber(w, 'pctStart', cfg.pctStart ?? 0.3, 0, 1),
        annealStrategy: checkOneOf(w, 'annealStrategy', cfg.annealStrategy ?? 'cos', ['cos', 'linear'] as const),
        divFactor: checkNumber(w, 'divFactor', cfg.divFactor ?? 25, 0, Infinity, POSITIVE),
        finalDivFactor: checkNumber(w, 'finalDivFactor', cfg.finalDivFactor ?? 1e4, 0, Infinity, POSITIVE),
        threePhase: checkBool(w, 'threePhase', cfg.threePhase ?? false),
      };
      // torch divides by each phase's length; an empty or reversed phase is a zero division or a rate
      // outside [min, max]. Each phase must end after the one before (the first starts at step 0).
      const ends = oneCyclePhaseEnds(r);
      for (let i = 0, start = 0; i < ends.length; start = ends[i], i++) {
        if (!(ends[i] > start)) {
          throw new RangeError(
            `${w}: pctStart ${r.pctStart} × totalSteps ${r.totalSteps} leaves phase ${i + 1} empty ` +
              `(phase ends at steps [${ends.join(', ')}], each must be after the previous and after step 0)`,
          );
        }
      }
      return r;
    }
    case 'reduceOnPlateau': {
      const thresholdMode = checkOneOf(w, 'thresholdMode', cfg.thresholdMode ?? 'rel', ['rel', 'abs'] as const);
      return {
        type: 'reduceOnPlateau',
        every,
        mode: checkOneOf(w, 'mode', cfg.mode ?? 'min', ['min', 'max'] as const),
        factor: checkNumber(w, 'factor', cfg.factor ?? 0.1, 0, 1, { loOpen: true, hiOpen: true }),
        patience: checkInt(w, 'patience', cfg.patience ?? 10, 0),
        thresholdMode,
        // 'rel' compares with best·(1 ∓ threshold): a threshold of 1 or more would make nothing an improvement.
        threshold: checkNumber(w, 'threshold', cfg.threshold ?? 1e-4, 0, thresholdMode === 'rel' ? 1 : Infinity, { hiOpen: thresholdMode === 'rel' }),
        cooldown: checkInt(w, 'cooldown', cfg.cooldown ?? 0, 0),
        minLr: checkNumber(w, 'minLr', cfg.minLr ?? 0, 0),
        eps: checkNumber(w, 'eps', cfg.eps ?? 1e-8, 0),
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The rules: each gives step 0's rate and the rate after step n (n ≥ 1) from the one before
// ---------------------------------------------------------------------------------------------------------

interface Rule {
  initial(): number;
  next(n: number, lr: number, metric: number | undefined): number;
}

/** The steps at which OneCycleLR's phases end (float, as torch computes them). */
function oneCyclePhaseEnds(c: Required<OneCycleScheduleConfig>): number[] {
  const T = c.totalSteps;
  return c.threePhase ? [c.pctStart * T - 1, 2 * c.pctStart * T - 2, T - 1] : [c.pctStart * T - 1, T - 1];
}

/** CosineAnnealingLR.get_lr at its step t ≥ 1 (torch's recursive form; the t = 0 rate comes from elsewhere). */
function cosineNext(t: number, lr: number, base: number, tMax: number, etaMin: number): number {
  if ((((t - 1 - tMax) % (2 * tMax)) + 2 * tMax) % (2 * tMax) === 0) {
    return lr + ((base - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2;
  }
  return ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (lr - etaMin) + etaMin;
}

function ruleFor(c: ResolvedScheduleConfig, base: number): Rule {
  switch (c.type) {
    case 'step':
      return { initial: () => base, next: (n, lr) => (n % c.stepSize === 0 ? lr * c.gamma : lr) };
    case 'multiStep':
      return { initial: () => base, next: (n, lr) => (c.milestones.includes(n) ? lr * c.gamma : lr) };
    case 'exponential':
      return { initial: () => base, next: (_n, lr) => lr * c.gamma };
    case 'cosine': {
      const { tMax, etaMin, warmup, warmupStartFactor: sf } = c;
      if (warmup === 0) return { initial: () => base, next: (n, lr) => cosineNext(n, lr, base, tMax, etaMin) };
      // SequentialLR: LinearLR(start_factor=sf, end_factor=1, total_iters=warmup) for steps 0..warmup−1, then
      // CosineAnnealingLR restarted with step(0) — its closed form at 0 — and stepped recursively from there.
      return {
        initial: () => base * sf,
        next(n, lr) {
          if (n < warmup) return lr * (1 + (1 - sf) / (warmup * sf + (n - 1) * (1 - sf)));
          if (n === warmup) return etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * 0) / tMax))) / 2;
          return cosineNext(n - warmup, lr, base, tMax, etaMin);
        },
      };
    }
    case 'oneCycle': {
      const initialLr = c.maxLr / c.divFactor;
      const minLr = initialLr / c.finalDivFactor;
      const ends = oneCyclePhaseEnds(c);
      const from = c.threePhase ? [initialLr, c.maxLr, initialLr] : [initialLr, c.maxLr];
      const to = c.threePhase ? [c.maxLr, initialLr, minLr] : [c.maxLr, minLr];
      const anneal =
        c.annealStrategy === 'cos'
          ? (start: number, end: number, pct: number) => end + ((start - end) / 2.0) * (Math.cos(Math.PI * pct) + 1)
          : (start: number, end: number, pct: number) => (end - start) * pct + start;
      const at = (n: number): number => {
        let start = 0;
        for (let i = 0; i < ends.length; i++) {
          if (n <= ends[i] || i === ends.length - 1) return anneal(from[i], to[i], (n - start) / (ends[i] - start));
          start = ends[i];
        }
        throw new Error('unreachable');
      };
      return {
        initial: () => at(0),
        next(n) {
          if (n > c.totalSteps) {
            throw new RangeError(
              `oneCycle schedule: step() called ${n} times, but totalSteps is ${c.totalSteps} ` +
                '(raise totalSteps to epochs × steps per epoch)',
            );
          }
          return at(n);
        },
      };
    }
    case 'reduceOnPlateau':
      throw new Error('unreachable: reduceOnPlateau has its own state');
  }
}

/** ReduceLROnPlateau's counters; `next` changes them, so it validates the metric first. */
class Plateau implements Rule {
  best: number | null = null;
  badEpochs = 0;
  cooldownCounter = 0;
  constructor(
    private readonly c: Required<ReduceOnPlateauScheduleConfig>,
    private readonly base: number,
  ) {}
  initial(): number {
    return this.base;
  }
  /** torch's is_better; `best === null` is torch's mode_worse (±∞), which every finite metric beats. */
  #isBetter(a: number): boolean {
    // Non-finite metrics never count as improvements (torch would let −∞ in 'min' mode become the best, which
    // then cannot be saved as JSON; a diverged run's NaN is a bad step in both).
    if (!Number.isFinite(a)) return false;
    const { mode, threshold: t, thresholdMode } = this.c;
    if (this.best === null) return true;
    if (mode === 'min') return thresholdMode === 'rel' ? a < this.best * (1 - t) : a < this.best - t;
    return thresholdMode === 'rel' ? a > this.best * (t + 1) : a > this.best + t;
  }
  next(_n: number, lr: number, metric: number | undefined): number {
    if (typeof metric !== 'number') {
      throw new TypeError(`reduceOnPlateau schedule: step() needs the monitored metric (e.g. the validation loss), got ${describe(metric)}`);
    }
    if (this.#isBetter(metric)) {
      this.best = metric;
      this.badEpochs = 0;
    } else {
      this.badEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.badEpochs = 0; // bad steps in cooldown are ignored
    }
    if (this.badEpochs > this.c.patience) {
      this.cooldownCounter = this.c.cooldown;
      this.badEpochs = 0;
      const reduced = Math.max(lr * this.c.factor, this.c.minLr);
      if (lr - reduced > this.c.eps) return reduced;
    }
    return lr;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The schedule: position and current rate over a rule; save/load
// ---------------------------------------------------------------------------------------------------------

class LrSchedule implements Schedule {
  readonly config: Readonly<ResolvedScheduleConfig>;
  readonly #base: number;
  readonly #rule: Rule;
  readonly #plateau: Plateau | null;
  #steps = 0;
  #lr: number;

  constructor(config: ResolvedScheduleConfig, base: number) {
    this.config = deepFreeze(config);
    this.#base = base;
    this.#plateau = config.type === 'reduceOnPlateau' ? new Plateau(config, base) : null;
    this.#rule = this.#plateau ?? ruleFor(config, base);
    this.#lr = this.#rule.initial();
  }

  lr(): number {
    return this.#lr;
  }
  get steps(): number {
    return this.#steps;
  }
  step(metric?: number): void {
    this.#lr = this.#rule.next(this.#steps + 1, this.#lr, metric); // throws before anything changes
    this.#steps++;
  }

  saveState(): ScheduleState {
    const s: ScheduleState = {
      type: this.config.type,
      config: structuredClone(this.config) as ResolvedScheduleConfig,
      baseLr: this.#base,
      steps: this.#steps,
      lr: this.#lr,
    };
    if (this.#plateau) {
      const p = this.#plateau;
      s.plateau = { best: p.best, badEpochs: p.badEpochs, cooldownCounter: p.cooldownCounter };
    }
    return s;
  }

  checkState(s: ScheduleState): void {
    const w = `${this.config.type} schedule: loadState`;
    if (typeof s !== 'object' || s === null) throw new TypeError(`${w}: expected a saved schedule state, got ${describe(s)}`);
    if (s.type !== this.config.type) throw new TypeError(`${w}: the state is of a ${describe(s.type)} schedule, this one is '${this.config.type}'`);
    if (typeof s.config !== 'object' || s.config === null) throw new TypeError(`${w}: config missing, got ${describe(s.config)}`);
    for (const k of new Set([...Object.keys(this.config), ...Object.keys(s.config)])) {
      const mine = (this.config as Record<string, unknown>)[k];
      const theirs = (s.config as Record<string, unknown>)[k];
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
        throw new RangeError(`${w}: the state was saved with ${k} ${describe(theirs)}, this schedule has ${describe(mine)}`);
      }
    }
    if (this.config.type !== 'oneCycle' && s.baseLr !== this.#base) {
      throw new RangeError(`${w}: the state was saved with baseLr ${describe(s.baseLr)}, this schedule has ${this.#base}`);
    }
    const maxSteps = this.config.type === 'oneCycle' ? this.config.totalSteps : Number.MAX_SAFE_INTEGER;
    checkInt(w, 'steps', s.steps, 0, maxSteps);
    // A rate is a learning rate: finite and ≥ 0 (a state with lr −1 would train uphill).
    checkNumber(w, 'lr', s.lr, 0);
    const c = this.config;
    if (c.type === 'reduceOnPlateau') {
      const p = s.plateau;
      if (typeof p !== 'object' || p === null) throw new TypeError(`${w}: plateau must be { best, badEpochs, cooldownCounter }, got ${describe(p)}`);
      if (p.best !== null) checkNumber(w, 'plateau.best', p.best);
      checkInt(w, 'plateau.badEpochs', p.badEpochs, 0, c.patience);
      checkInt(w, 'plateau.cooldownCounter', p.cooldownCounter, 0, c.cooldown);
    } else if (s.plateau !== undefined) {
      throw new TypeError(`${w}: plateau state given for a '${c.type}' schedule`);
    }
  }

  loadState(s: ScheduleState): void {
    this.checkState(s);
    if (s.plateau) {
      const p = s.plateau;
      Object.assign(this.#plateau!, { best: p.best, badEpochs: p.badEpochs, cooldownCounter: p.cooldownCounter });
    }
    this.#steps = s.steps;
    this.#lr = s.lr;
  }
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) Object.freeze(v);
  return Object.freeze(o);
}
