// The training advisor: reads the telemetry that fit already produces, one record per optimizer step, and
// returns structured findings (what looks wrong, the numbers that show it, what to try). Pure and
// deterministic: the same records give the same findings, with no clock, randomness or I/O.
//
// Rules and their default thresholds (all configurable, each kind can be switched off with `false`):
//   updateRatio         the median over `window` (20) steps of a layer's ‖Δw‖/‖w‖ outside [1e-5, 1e-1]:
//                       two decades either side of Karpathy's ~1e-3 rule of thumb (CS231n, "Neural Networks
//                       Part 3": "if it is lower than this the learning rate might be too low, if higher
//                       too high"). Adam at 1e-3 on LeNet/MNIST runs 1.2e-3–1.8e-2 (measured).
//   lossSpike           a step's loss ≥ `factor` (5) × the median of the previous `window` (20) losses and
//                       its modified z-score 0.6745·(loss − median)/MAD ≥ `z` (10; Iglewicz & Hoaglin's
//                       outlier rule is 3.5). There is no standard spike rule; the healthy LeNet run's worst
//                       step was 2.8× its median at z 2.95 (measured), well inside these.
//   divergence          the loss smoothed as fastai's lr_find smooths it (EMA 0.98, bias-corrected) above
//                       `factor` (4) × its minimum, after `warmup` (10) steps: fastai's lr_find stop rule (the
//                       DivergenceMonitor fit uses); or a loss that is not finite.
//   vanishingGradients  a layer's gradient norm below `ratio` (1e-4) × the largest layer's at that step, for
//                       `patience` (3) steps in a row (gradients shrinking toward the input, as Glorot &
//                       Bengio 2010 saw across layers). Healthy LeNet: the smallest ratio was 6e-2.
//   explodingGradients  a layer's gradient norm above `norm` (1e3), or not finite, for `patience` (3) steps.
//                       With the mean cross-entropy the gradient at the logits has norm ≤ √2, so a layer
//                       gradient of 1e3 means activations or weights grew by about three decades (healthy
//                       LeNet: at most 8).
//   deadRelu            a ReLU whose fraction of zero activations exceeds `fraction` (0.9) for `patience` (3)
//                       records in a row (a healthy ReLU zeroes about half; LeNet's second: 0.26–0.60).
//   warmup              in the first `steps` (50) steps, the loss rising to ≥ `rise` (1.5) × the first step's,
//                       or a layer's update ratio ≥ `updateRatio` (0.3): the rate is too high for the start
//                       (Goyal et al. 2017's gradual warm-up; Liu et al. 2020 on Adam's early variance).
// Findings are deduplicated: one per kind and layer while its condition holds; when it clears, the next
// onset gives a new finding (warmup fires at most once).
import { checkInt, checkKeys, checkNumber, describe } from '../errors.js';
import { DivergenceMonitor } from './divergence.js';
import type { LayerTelemetry } from './telemetry.js';

export type FindingKind = 'updateRatio' | 'lossSpike' | 'divergence' | 'vanishingGradients' | 'explodingGradients' | 'deadRelu' | 'warmup';

export const FINDING_KINDS: readonly FindingKind[] = [
  'updateRatio', 'lossSpike', 'divergence', 'vanishingGradients', 'explodingGradients', 'deadRelu', 'warmup',
];

export interface Finding {
  kind: FindingKind;
  /** The layer it concerns (per-layer kinds). */
  layer?: string;
  epoch: number;
  /** The step (as observed) at which the condition was found. */
  step: number;
  /** 'warning': training is going wrong now; 'info': worth a look (a spike may be a hard batch). */
  severity: 'info' | 'warning';
  /** The numbers behind it, and the thresholds they crossed. */
  evidence: Record<string, number>;
  message: string;
  suggestion: string;
}

/** What the advisor reads per layer: a subset of fit's LayerTelemetry. */
export type AdvisorLayerTelemetry = Pick<LayerTelemetry, 'layer' | 'gradNorm' | 'updateRatio'>;

/** One optimizer step as fit sees it. */
export interface StepRecord {
  epoch: number;
  /** Global step number, increasing. */
  step: number;
  /** The step's training loss (before the update). */
  loss: number;
  lr: number;
  telemetry?: readonly AdvisorLayerTelemetry[];
  /** Per ReLU: the fraction of its activations that were zero in this step's batch. */
  relu?: readonly { layer: string; deadFraction: number }[];
}

export interface AdvisorOptions {
  updateRatio?: { low?: number; high?: number; window?: number } | false;
  lossSpike?: { factor?: number; z?: number; window?: number } | false;
  divergence?: { factor?: number; smoothing?: number; warmup?: number } | false;
  vanishingGradients?: { ratio?: number; patience?: number } | false;
  explodingGradients?: { norm?: number; patience?: number } | false;
  deadRelu?: { fraction?: number; patience?: number } | false;
  warmup?: { steps?: number; rise?: number; updateRatio?: number } | false;
}

/** Every threshold with its default filled in (null: that kind is off). */
export interface ResolvedAdvisorOptions {
  updateRatio: { low: number; high: number; window: number } | null;
  lossSpike: { factor: number; z: number; window: number } | null;
  divergence: { factor: number; smoothing: number; warmup: number } | null;
  vanishingGradients: { ratio: number; patience: number } | null;
  explodingGradients: { norm: number; patience: number } | null;
  deadRelu: { fraction: number; patience: number } | null;
  warmup: { steps: number; rise: number; updateRatio: number } | null;
}

const OPEN = { loOpen: true } as const;

/** Validates the options (a TypeError/RangeError naming the option) and fills in the defaults. */
export function resolveAdvisorOptions(opts?: AdvisorOptions): ResolvedAdvisorOptions {
  const w = 'Advisor';
  if (opts !== undefined && (typeof opts !== 'object' || opts === null || Array.isArray(opts))) {
    throw new TypeError(`${w}: options must be an object, got ${describe(opts)}`);
  }
  checkKeys(w, opts ?? {}, FINDING_KINDS);
  const o = (opts ?? {}) as Record<string, unknown>;
  const part = <K extends string>(kind: FindingKind, keys: readonly K[]): Record<K, unknown> | null => {
    const v = o[kind];
    if (v === false) return null;
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new TypeError(`${w}: ${kind} must be an object of thresholds or false, got ${describe(v)}`);
    }
    checkKeys(`${w}: ${kind}`, v ?? {}, keys);
    return (v ?? {}) as Record<K, unknown>;
  };
  const ur = part('updateRatio', ['low', 'high', 'window']);
  const ls = part('lossSpike', ['factor', 'z', 'window']);
  const dv = part('divergence', ['factor', 'smoothing', 'warmup']);
  const vg = part('vanishingGradients', ['ratio', 'patience']);
  const eg = part('explodingGradients', ['norm', 'patience']);
  const dr = part('deadRelu', ['fraction', 'patience']);
  const wu = part('warmup', ['steps', 'rise', 'updateRatio']);
  const r: ResolvedAdvisorOptions = {
    updateRatio: ur && {
      low: checkNumber(w, 'updateRatio.low', ur.low ?? 1e-5, 0, Infinity, OPEN),
      high: checkNumber(w, 'updateRatio.high', ur.high ?? 1e-1, 0, Infinity, OPEN),
      window: checkInt(w, 'updateRatio.window', ur.window ?? 20, 1),
    },
    lossSpike: ls && {
      factor: checkNumber(w, 'lossSpike.factor', ls.factor ?? 5, 1, Infinity, OPEN),
      z: checkNumber(w, 'lossSpike.z', ls.z ?? 10, 0, Infinity, OPEN),
      window: checkInt(w, 'lossSpike.window', ls.window ?? 20, 3),
    },
    divergence: dv && {
      factor: checkNumber(w, 'divergence.factor', dv.factor ?? 4, 1, Infinity, OPEN),
      smoothing: checkNumber(w, 'divergence.smoothing', dv.smoothing ?? 0.98, 0, 1, { hiOpen: true }),
      warmup: checkInt(w, 'divergence.warmup', dv.warmup ?? 10, 1),
    },
    vanishingGradients: vg && {
      ratio: checkNumber(w, 'vanishingGradients.ratio', vg.ratio ?? 1e-4, 0, 1, OPEN),
      patience: checkInt(w, 'vanishingGradients.patience', vg.patience ?? 3, 1),
    },
    explodingGradients: eg && {
      norm: checkNumber(w, 'explodingGradients.norm', eg.norm ?? 1e3, 0, Infinity, OPEN),
      patience: checkInt(w, 'explodingGradients.patience', eg.patience ?? 3, 1),
    },
    deadRelu: dr && {
      fraction: checkNumber(w, 'deadRelu.fraction', dr.fraction ?? 0.9, 0, 1, { hiOpen: true }),
      patience: checkInt(w, 'deadRelu.patience', dr.patience ?? 3, 1),
    },
    warmup: wu && {
      steps: checkInt(w, 'warmup.steps', wu.steps ?? 50, 1),
      rise: checkNumber(w, 'warmup.rise', wu.rise ?? 1.5, 1, Infinity, OPEN),
      updateRatio: checkNumber(w, 'warmup.updateRatio', wu.updateRatio ?? 0.3, 0, Infinity, OPEN),
    },
  };
  if (r.updateRatio && r.updateRatio.low >= r.updateRatio.high) {
    throw new RangeError(`${w}: updateRatio.low must be below updateRatio.high, got ${r.updateRatio.low} and ${r.updateRatio.high}`);
  }
  return r;
}

/** The median of a non-empty list of numbers (the lower middle for an even count). */
function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(3) : String(x));

export class Advisor {
  readonly options: ResolvedAdvisorOptions;
  readonly #findings: Finding[] = [];
  /** Conditions that have fired and not cleared yet, by `kind:layer`. */
  readonly #active = new Set<string>();
  /** Consecutive steps a per-layer condition has held, by `kind:layer`. */
  readonly #runs = new Map<string, number>();
  readonly #ratios = new Map<string, number[]>();
  readonly #losses: number[] = [];
  readonly #divergence: DivergenceMonitor | null;
  #firstLoss: number | null = null;
  #seen = 0;
  #lastStep = -Infinity;

  constructor(opts?: AdvisorOptions) {
    this.options = resolveAdvisorOptions(opts);
    const d = this.options.divergence;
    this.#divergence = d && new DivergenceMonitor(d);
  }

  /** Every finding so far, in the order found. */
  findings(): Finding[] {
    return this.#findings.map((f) => ({ ...f, evidence: { ...f.evidence } }));
  }

  /** Reads one step; returns the findings it gave rise to (also kept for `findings()`). */
  observe(r: StepRecord): Finding[] {
    const where = 'Advisor.observe';
    if (typeof r !== 'object' || r === null) throw new TypeError(`${where}: expected a step record { epoch, step, loss, lr, telemetry?, relu? }, got ${describe(r)}`);
    checkKeys(where, r, ['epoch', 'step', 'loss', 'lr', 'telemetry', 'relu']);
    checkInt(where, 'epoch', r.epoch, 0);
    checkInt(where, 'step', r.step, 0);
    if (r.step <= this.#lastStep) throw new RangeError(`${where}: steps must increase, got ${r.step} after ${this.#lastStep}`);
    if (typeof r.loss !== 'number') throw new TypeError(`${where}: loss must be a number, got ${describe(r.loss)}`);
    checkNumber(where, 'lr', r.lr, 0);
    if (r.telemetry !== undefined && !Array.isArray(r.telemetry)) throw new TypeError(`${where}: telemetry must be an array of layer rows, got ${describe(r.telemetry)}`);
    if (r.relu !== undefined && !Array.isArray(r.relu)) throw new TypeError(`${where}: relu must be an array of { layer, deadFraction }, got ${describe(r.relu)}`);
    this.#lastStep = r.step;
    this.#seen++;
    const before = this.#findings.length;
    this.#lossRules(r);
    if (r.telemetry) this.#layerRules(r, r.telemetry);
    if (r.relu) this.#reluRule(r, r.relu);
    return this.findings().slice(before);
  }

  /** Adds a finding unless `key` is already active; `on` false clears it. */
  #raise(key: string, on: boolean, make: () => Omit<Finding, 'epoch' | 'step'>, r: StepRecord): void {
    if (!on) {
      this.#active.delete(key);
      return;
    }
    if (this.#active.has(key)) return;
    this.#active.add(key);
    this.#findings.push({ ...make(), epoch: r.epoch, step: r.step } as Finding);
  }

  /** Counts consecutive steps `cond` held for `key`; true once it has for `patience` steps. */
  #persist(key: string, cond: boolean, patience: number): boolean {
    const n = cond ? (this.#runs.get(key) ?? 0) + 1 : 0;
    this.#runs.set(key, n);
    return n >= patience;
  }

  #lossRules(r: StepRecord): void {
    const { lossSpike, warmup } = this.options;
    const loss = r.loss;
    const finite = Number.isFinite(loss);
    // Divergence: a non-finite loss at once; else fastai's smoothed-loss rule.
    if (this.#divergence) {
      const c = this.options.divergence!;
      this.#raise('divergence:nonFinite', !finite, () => ({
        kind: 'divergence', severity: 'warning', evidence: { loss, lr: r.lr },
        message: `the training loss is ${loss} at step ${r.step}: training diverged`,
        suggestion: 'lower the learning rate about 10× (fastai picks ~1/10 of the rate where the loss diverges), add a warm-up, or clip gradients (clipNorm: 1)',
      }), r);
      if (finite) {
        const w = this.#divergence.update(loss, r.epoch, r.step);
        const key = 'divergence';
        if (w) {
          this.#active.delete(key);
          this.#raise(key, true, () => ({
            kind: 'divergence', severity: 'warning', evidence: { smoothedLoss: w.smoothedLoss, minLoss: w.minLoss, factor: c.factor, lr: r.lr },
            message: `the smoothed training loss ${fmt(w.smoothedLoss)} at step ${r.step} is above ${c.factor}× its minimum ${fmt(w.minLoss)}: training is diverging`,
            suggestion: 'lower the learning rate about 10× (fastai picks ~1/10 of the rate where the loss diverges), add a warm-up, or clip gradients (clipNorm: 1)',
          }), r);
        }
      }
    }
    if (!finite) return;
    if (lossSpike) {
      const prev = this.#losses;
      if (prev.length >= lossSpike.window) {
        const m = median(prev);
        const mad = median(prev.map((v) => Math.abs(v - m)));
        const z = mad > 0 ? (0.6745 * (loss - m)) / mad : loss > m ? Infinity : 0;
        const on = loss >= lossSpike.factor * m && z >= lossSpike.z;
        this.#raise('lossSpike', on, () => ({
          kind: 'lossSpike', severity: 'info', evidence: { loss, median: m, ratio: loss / m, z, factor: lossSpike.factor, zThreshold: lossSpike.z, lr: r.lr },
          message: `the loss jumped to ${fmt(loss)} at step ${r.step}, ${fmt(loss / m)}× the median ${fmt(m)} of the previous ${lossSpike.window} steps (modified z-score ${fmt(z)})`,
          suggestion: 'one spike on a hard batch is harmless; if they recur, lower the learning rate, clip gradients (clipNorm: 1) or add a warm-up',
        }), r);
      }
      prev.push(loss);
      if (prev.length > lossSpike.window) prev.shift();
    }
    if (warmup && this.#seen <= warmup.steps) {
      this.#firstLoss ??= loss;
      const maxRatio = Math.max(0, ...(r.telemetry ?? []).map((t) => t.updateRatio).filter(Number.isFinite));
      const first = this.#firstLoss;
      const on = loss >= warmup.rise * first || maxRatio >= warmup.updateRatio;
      if (on && !this.#findings.some((f) => f.kind === 'warmup')) {
        this.#raise('warmup', true, () => ({
          kind: 'warmup', severity: 'info', evidence: { loss, firstLoss: first, rise: loss / first, maxUpdateRatio: maxRatio, lr: r.lr, stepInRun: this.#seen },
          message: loss >= warmup.rise * first
            ? `the loss rose to ${fmt(loss)} at step ${r.step}, ${fmt(loss / first)}× the first step's ${fmt(first)}: the rate ${fmt(r.lr)} is too high for the first steps`
            : `a layer changed by ${fmt(maxRatio)} of its weight norm in one step at step ${r.step}: the rate ${fmt(r.lr)} is too high for the first steps`,
          suggestion: `warm the rate up linearly over the first few hundred steps (schedule: { type: 'cosine', tMax, warmup: 500, every: 'batch' }; for Adam ~2/(1−β₂) steps, Ma & Yarats 2019), or start lower`,
        }), r);
      }
    }
  }

  #layerRules(r: StepRecord, rows: readonly AdvisorLayerTelemetry[]): void {
    const { updateRatio, vanishingGradients: vg, explodingGradients: eg } = this.options;
    const maxGrad = rows.reduce((m, t) => (Number.isFinite(t.gradNorm) && t.gradNorm > m.g ? { g: t.gradNorm, layer: t.layer } : m), { g: 0, layer: '' });
    for (const t of rows) {
      const L = t.layer;
      if (updateRatio) {
        const key = `updateRatio:${L}`;
        const w = this.#ratios.get(L) ?? [];
        if (Number.isFinite(t.updateRatio)) w.push(t.updateRatio);
        if (w.length > updateRatio.window) w.shift();
        this.#ratios.set(L, w);
        if (w.length === updateRatio.window) {
          const m = median(w);
          const low = m < updateRatio.low;
          const on = low || m > updateRatio.high;
          this.#raise(key, on, () => ({
            kind: 'updateRatio', layer: L, severity: 'warning',
            evidence: { medianUpdateRatio: m, low: updateRatio.low, high: updateRatio.high, window: updateRatio.window, lr: r.lr },
            message: m === 0
              ? `layer ${L}: its weights did not move in ${updateRatio.window} steps (update-to-weight ratio 0)`
              : `layer ${L}: the update-to-weight ratio ‖Δw‖/‖w‖ is ${fmt(m)} (median of ${updateRatio.window} steps), far ${low ? 'below' : 'above'} the ~1e-3 rule of thumb`,
            suggestion: m === 0
              ? 'its gradient is zero: look for dead ReLUs above it (deadRelu findings) or a frozen parameter group; a higher rate will not help'
              : low
                ? `the rate ${fmt(r.lr)} is probably too low for this layer: try about ${fmt(Math.min(1e-3 / m, 1e3))}× higher (or check the layer is meant to be nearly frozen)`
                : `the rate ${fmt(r.lr)} is probably too high for this layer: try about ${fmt(Math.min(m / 1e-3, 1e3))}× lower, or a per-layer lrScale`,
          }), r);
        }
      }
      if (vg && rows.length > 1) {
        const key = `vanishingGradients:${L}`;
        const ratio = maxGrad.g > 0 ? t.gradNorm / maxGrad.g : 1;
        const on = this.#persist(key, ratio < vg.ratio, vg.patience);
        this.#raise(key, on, () => ({
          kind: 'vanishingGradients', layer: L, severity: 'warning',
          evidence: { gradNorm: t.gradNorm, maxGradNorm: maxGrad.g, ratio, threshold: vg.ratio, patience: vg.patience },
          message: `layer ${L}: its gradient norm ${fmt(t.gradNorm)} is ${fmt(ratio)} of the largest layer's (${maxGrad.layer}: ${fmt(maxGrad.g)}) for ${vg.patience} steps: the gradient vanishes before it reaches this layer`,
          suggestion: "use He or Glorot initialisation (init: 'he'), fewer layers, normalisation between layers, or residual connections; check for dead ReLUs above this layer",
        }), r);
      }
      if (eg) {
        const key = `explodingGradients:${L}`;
        const on = this.#persist(key, !(t.gradNorm <= eg.norm), eg.patience);
        this.#raise(key, on, () => ({
          kind: 'explodingGradients', layer: L, severity: 'warning',
          evidence: { gradNorm: t.gradNorm, threshold: eg.norm, patience: eg.patience },
          message: `layer ${L}: its gradient norm is ${fmt(t.gradNorm)}, above ${fmt(eg.norm)} for ${eg.patience} steps: the gradients are exploding`,
          suggestion: "clip gradients (clipNorm: 1), lower the learning rate, and check the initialisation scale (init: 'he' or 'glorot')",
        }), r);
      }
    }
  }

  #reluRule(r: StepRecord, rows: readonly { layer: string; deadFraction: number }[]): void {
    const dr = this.options.deadRelu;
    if (!dr) return;
    for (const { layer, deadFraction } of rows) {
      const key = `deadRelu:${layer}`;
      const on = this.#persist(key, deadFraction > dr.fraction, dr.patience);
      this.#raise(key, on, () => ({
        kind: 'deadRelu', layer, severity: 'warning',
        evidence: { deadFraction, threshold: dr.fraction, patience: dr.patience },
        message: `layer ${layer}: ${fmt(100 * deadFraction)}% of its activations are zero (above ${fmt(100 * dr.fraction)}% for ${dr.patience} records): most of its units are dead and pass no gradient`,
        suggestion: 'lower the learning rate, initialise biases at 0 (or slightly positive) with He initialisation, or use a leaky ReLU',
      }), r);
    }
  }
}
