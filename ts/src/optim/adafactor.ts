// Adafactor (Shazeer & Stern 2018), as HuggingFace's implementation computes it; the formula lives beside
// the kernel in crates/core/src/optim/adafactor.rs:
//
//   lrₜ = (relativeStep ? min(warmupInit ? 1e-6·t : 1e-2, 1/√t) : lr) · (scaleParameter ? max(ε₂, RMS(p)) : 1)
//   β̂ₜ = 1 − t^decayRate
//   factored (rows × cols):  R ← β̂ₜ·R + (1−β̂ₜ)·mean_cols(g² + ε₁);  C ← β̂ₜ·C + (1−β̂ₜ)·mean_rows(g² + ε₁)
//                            u = g / √(Rᵢ/mean(R) · Cⱼ)
//   vector:                  V ← β̂ₜ·V + (1−β̂ₜ)·(g² + ε₁);  u = g / √V
//   u ← u·lrₜ / max(1, RMS(u)/clipThreshold);  beta1: m ← β₁·m + (1−β₁)·u, u ← m
//   p ← p − wd·lrₜ·p − u
//
// Statistics are per tensor, so every tensor is its own kernel call. A tensor of 2 or more dimensions is
// factored as rows = shape[0] × cols = the product of the rest (a conv weight [O, C, kh, kw] is
// O × C·kh·kw; HuggingFace factors over the last two dimensions instead, the same for 2-D weights).
// Slots (flat, concatenated over tensors in order, each tensor's part starting on 4 floats):
// `exp_avg_sq_row` and `exp_avg_sq_col` for factored tensors, `exp_avg_sq` for vectors, and `exp_avg`
// (parallel to the parameters) when beta1 is set. A slot no tensor uses is not allocated.
import { checkBool, checkNumber, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import { resolveParamGroups, type ResolvedParamGroup, type Run } from './layout.js';
import { checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import { Optimizer, type OptimizerTargetLike } from './optimizer.js';

export interface AdafactorConfig extends CommonConfig {
  /** A fixed learning rate (needs relativeStep false); absent or null: the relative step. */
  lr?: number | null;
  /** [ε₁ added to g², ε₂ the floor of the parameter scale], each > 0; default [1e-30, 1e-3]. */
  eps?: readonly [number, number];
  /** The update's RMS is clipped to this (> 0); default 1.0. */
  clipThreshold?: number;
  /** Exponent of the second-moment decay β̂ₜ = 1 − t^decayRate, ≤ 0; default −0.8. */
  decayRate?: number;
  /** First-moment decay in [0, 1); absent or null keeps no first moment (default). */
  beta1?: number | null;
  /** Decoupled weight decay p ← p − wd·lrₜ·p; default 0. */
  weightDecay?: number;
  /** Scale the step by max(ε₂, RMS(p)); default true. */
  scaleParameter?: boolean;
  /** lrₜ = min(1e-2, 1/√t) instead of a fixed lr; default true exactly when lr is absent. */
  relativeStep?: boolean;
  /** With relativeStep: min(1e-6·t, 1/√t), a linear warm-up; default false. */
  warmupInit?: boolean;
  /** Ascend the objective instead; default false. */
  maximize?: boolean;
}

export interface ResolvedAdafactorConfig {
  /** Present exactly when relativeStep is false. */
  lr?: number;
  eps: [number, number];
  clipThreshold: number;
  decayRate: number;
  /** Present when a first moment is kept. */
  beta1?: number;
  weightDecay: number;
  scaleParameter: boolean;
  relativeStep: boolean;
  warmupInit: boolean;
  maximize: boolean;
  paramGroups: ResolvedParamGroup[];
}

const KEYS = [
  'lr', 'eps', 'clipThreshold', 'decayRate', 'beta1', 'weightDecay', 'scaleParameter', 'relativeStep', 'warmupInit', 'maximize', 'paramGroups',
] as const;

export function resolveAdafactor(cfg?: AdafactorConfig): ResolvedAdafactorConfig {
  const w = 'Adafactor';
  const c = checkConfig(w, cfg, KEYS);
  const hasLr = c.lr !== undefined && c.lr !== null;
  const eps = c.eps ?? [1e-30, 1e-3];
  if (!Array.isArray(eps) || eps.length !== 2) throw new TypeError(`${w}: eps must be a pair [eps1, eps2], got ${describe(eps)}`);
  const o: ResolvedAdafactorConfig = {
    eps: [checkEps(w, eps[0], 'eps[0]'), checkEps(w, eps[1], 'eps[1]')],
    clipThreshold: checkNumber(w, 'clipThreshold', c.clipThreshold ?? 1.0, 0, Infinity, { loOpen: true }),
    decayRate: checkNumber(w, 'decayRate', c.decayRate ?? -0.8, -Infinity, 0),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    scaleParameter: checkBool(w, 'scaleParameter', c.scaleParameter ?? true),
    relativeStep: checkBool(w, 'relativeStep', c.relativeStep ?? !hasLr),
    warmupInit: checkBool(w, 'warmupInit', c.warmupInit ?? false),
    maximize: checkBool(w, 'maximize', c.maximize ?? false),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
  if (hasLr && o.relativeStep) throw new TypeError(`${w}: lr ${describe(c.lr)} cannot be combined with relativeStep true (set relativeStep: false)`);
  if (!hasLr && !o.relativeStep) throw new TypeError(`${w}: relativeStep false needs an lr, got ${describe(c.lr)}`);
  if (o.warmupInit && !o.relativeStep) throw new TypeError(`${w}: warmupInit true requires relativeStep true`);
  if (hasLr) o.lr = checkLr(w, c.lr);
  if (c.beta1 !== undefined && c.beta1 !== null) o.beta1 = checkNumber(w, 'beta1', c.beta1, 0, 1, { hiOpen: true });
  return o;
}

/** Where one tensor's statistics live in the flat slots. */
interface Place {
  rows: number;
  cols: number;
  factored: boolean;
  /** Float offsets into exp_avg_sq_row / exp_avg_sq_col (factored) or exp_avg_sq (vector). */
  row: number;
  col: number;
  sq: number;
}

const up4 = (n: number) => Math.ceil(n / 4) * 4;

export class Adafactor extends Optimizer {
  readonly options: ResolvedAdafactorConfig;
  readonly #places = new Map<string, Place>();

  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: AdafactorConfig) {
    const o = resolveAdafactor(cfg);
    super(engine, 'adafactor', 'Adafactor', target, o.paramGroups, { perTensor: true });
    this.options = o;
    if (o.lr !== undefined) super.lr = o.lr;
    let [rowLen, colLen, sqLen] = [0, 0, 0];
    for (const t of this.layout) {
      const factored = t.shape.length >= 2 && t.length > 0;
      const rows = factored ? t.shape[0] : 0;
      const cols = factored ? t.length / rows : 0;
      this.#places.set(t.name, { rows, cols, factored, row: rowLen, col: colLen, sq: sqLen });
      if (factored) {
        rowLen += up4(rows);
        colLen += up4(cols);
      } else sqLen += up4(t.length);
    }
    if (rowLen > 0) this.slot('exp_avg_sq_row', 0, rowLen, { nonNegative: true });
    if (colLen > 0) this.slot('exp_avg_sq_col', 0, colLen, { nonNegative: true });
    if (sqLen > 0) this.slot('exp_avg_sq', 0, sqLen, { nonNegative: true });
    if (o.beta1 !== undefined) this.slot('exp_avg');
  }

  /** The relative step's rate at step t (before the parameter scale): min(1e-2 or 1e-6·t, 1/√t). */
  #relative(t: number): number {
    return Math.min(this.options.warmupInit ? 1e-6 * t : 1e-2, 1 / Math.sqrt(t));
  }

  /**
   * The rate of the next step before the parameter scale. With relativeStep it is computed from the step
   * count (min(1e-2, 1/√t)) and cannot be set.
   */
  override get lr(): number {
    return this.options.relativeStep ? this.#relative(this.steps + 1) : super.lr;
  }
  override set lr(v: number) {
    if (this.options.relativeStep) {
      throw new TypeError('Adafactor: lr is computed by relativeStep (min(1e-2, 1/√t)) and cannot be set; build it with { lr, relativeStep: false } for a fixed or scheduled rate');
    }
    super.lr = v;
  }
  protected override restoreLr(lr: number): void {
    if (!this.options.relativeStep) super.lr = lr;
  }

  protected apply(r: Run, p: number, g: number, d: number, t: number): void {
    const o = this.options;
    const s = this.#places.get(r.tensors[0].name)!;
    // The kernel computes the relative step itself; a group's lrScale needs it computed here instead.
    const relative = o.relativeStep && r.lrScale === 1;
    const lr = o.relativeStep ? (relative ? 0 : this.#relative(t) * r.lrScale) : super.lr * r.lrScale;
    this.engine.exports.wcnn_adafactor_step(
      p, g,
      s.factored ? this.at('exp_avg_sq_row', s.row) : 0, s.factored ? this.at('exp_avg_sq_col', s.col) : 0,
      s.factored ? 0 : this.at('exp_avg_sq', s.sq), this.at('exp_avg', r.offset),
      r.length, s.rows, s.cols,
      lr, o.eps[0], o.eps[1], o.clipThreshold, o.decayRate, o.beta1 ?? 0, o.weightDecay * r.weightDecayScale, t,
      +relative, +o.scaleParameter, +o.warmupInit, +o.maximize, d,
    );
  }

  get config(): { type: 'adafactor' } & ResolvedAdafactorConfig {
    const c: { type: 'adafactor' } & ResolvedAdafactorConfig = { type: 'adafactor', ...structuredClone(this.options) };
    if (!this.options.relativeStep) c.lr = super.lr;
    return c;
  }
}
