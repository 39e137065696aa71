// The base of the optimizers that step over a table of runs in one wasm call (crates/core/src/optim/
// table.rs): RAdam, NAdam, AdaBelief, Lion, LAMB, LARS, Prodigy, D-Adaptation, Schedule-Free. The run table
// (offset, length, lrScale, weightDecayScale, adapt per run), the f64 scalar state and the telemetry output
// (rate and trust ratio per run) live in small wasm buffers owned here; the numerics all live in Rust.
import { describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';
import { globToRegExp, type LayoutEntry, type ResolvedParamGroup, type Run } from './layout.js';
import { Optimizer, type LastStep, type OptimizerState, type OptimizerTargetLike } from './optimizer.js';
import type { OptimizerName } from './index.js';

/** f64s per run in the table and in the telemetry output (core `RUN_FIELDS`, `OUT_FIELDS`). */
const RUN_FIELDS = 5;
const OUT_FIELDS = 2;

export interface TableOptions {
  /** One run per tensor (per-tensor reductions: LAMB, LARS). */
  perTensor?: boolean;
  /** Which tensors layer-wise adaptation applies to (LAMB, LARS); default all. */
  adapt?: (t: LayoutEntry) => boolean;
  /** The scalar state before the first step (a function of the runs when its length depends on them: SWATS). */
  scalars?: number[] | ((runs: readonly Run[]) => number[]);
}

/**
 * LAMB's and LARS's exclusion rule until tensors carry tags: `patterns` (globs over tensor names, as
 * paramGroups) name the excluded tensors when given; by default every tensor of at most one dimension
 * (biases, normalisation scales and shifts) is excluded, as the LAMB and LARS papers exclude them.
 */
export function adaptRule(where: string, patterns: readonly string[] | undefined): (t: LayoutEntry) => boolean {
  if (patterns === undefined) return (t) => t.shape.length > 1;
  const res = patterns.map(globToRegExp);
  return (t) => !res.some((re) => re.test(t.name));
}

/** Validates an `excludeFromAdaptation` option: absent, or an array of non-empty name patterns. */
export function checkPatterns(where: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((p) => typeof p === 'string' && p.length > 0)) {
    throw new TypeError(`${where}: excludeFromAdaptation must be an array of tensor name patterns like ['*.bias'], got ${describe(v)}`);
  }
  return [...v];
}

export abstract class TableOptimizer extends Optimizer {
  readonly #table: F32Buffer;
  readonly #out: F32Buffer;
  readonly #scalars: F32Buffer | null;
  readonly #initial: number[];
  readonly #adapt: boolean[];
  #stepped = false;

  protected constructor(
    engine: Engine, type: OptimizerName, name: string, target: OptimizerTargetLike, groups: readonly ResolvedParamGroup[], o: TableOptions = {},
  ) {
    super(engine, type, name, target, groups, { perTensor: o.perTensor ?? false });
    const adapt = o.adapt ?? (() => true);
    this.#adapt = this.layout.map(adapt);
    const n = this.runs.length;
    this.#table = engine.alloc(2 * RUN_FIELDS * Math.max(n, 1), `${name} run table`);
    this.#out = engine.alloc(2 * OUT_FIELDS * Math.max(n, 1), `${name} telemetry`);
    this.#initial = typeof o.scalars === 'function' ? o.scalars(this.runs) : (o.scalars ?? []);
    this.#scalars = this.#initial.length > 0 ? engine.alloc(2 * this.#initial.length, `${name} scalar state`) : null;
    this.#writeScalars(this.#initial);
    const t = this.#f64(this.#table, n * RUN_FIELDS);
    this.runs.forEach((r, i) => t.set([r.offset, r.length, r.lrScale, r.weightDecayScale, +this.#adapt[this.layout.indexOf(r.tensors[0])]], i * RUN_FIELDS));
  }

  #f64(b: F32Buffer, len: number): Float64Array {
    return new Float64Array(this.engine.exports.memory.buffer, b.ptr, len);
  }
  #writeScalars(v: readonly number[]): void {
    if (this.#scalars) this.#f64(this.#scalars, this.#initial.length).set(v);
  }

  /** The run table's address and run count, the scalars' and the telemetry output's addresses. */
  protected get tablePtr(): number {
    return this.#table.ptr;
  }
  protected get runCount(): number {
    return this.runs.length;
  }
  protected get scalarsPtr(): number {
    return this.#scalars ? this.#scalars.ptr : 0;
  }
  protected get outPtr(): number {
    return this.#out.ptr;
  }
  /** The scalar state now. */
  protected scalarValues(): number[] {
    return this.#scalars ? Array.from(this.#f64(this.#scalars, this.#initial.length)) : [];
  }

  protected override update(params: F32Buffer, grads: F32Buffer, delta: F32Buffer | null, t: number): void {
    if (this.runs.length > 0) this.call(params.ptr, grads.ptr, delta?.ptr ?? 0, t);
    this.#stepped = true;
  }
  /** One kernel call over every run (p, g, d the whole buffers' addresses; d 0 without telemetry). */
  protected abstract call(p: number, g: number, d: number, t: number): void;
  protected apply(_r: Run): void {
    throw new Error(`${this.name}: steps over the run table (update), not per run`);
  }

  override lastStep(): LastStep {
    const base = super.lastStep();
    if (!this.#stepped) return base;
    const o = this.#f64(this.#out, this.runs.length * OUT_FIELDS);
    const tensorLr = new Float64Array(this.layout.length);
    const trust = new Float64Array(this.layout.length);
    this.runs.forEach((r, i) => {
      for (const t of r.tensors) {
        const k = this.layout.indexOf(t);
        tensorLr[k] = o[i * OUT_FIELDS];
        trust[k] = o[i * OUT_FIELDS + 1];
      }
    });
    const first = this.runs.findIndex((r) => r.lrScale !== 0);
    const lr = first >= 0 ? o[first * OUT_FIELDS] / this.runs[first].lrScale / (this.reportsTrust ? o[first * OUT_FIELDS + 1] : 1) : base.lr;
    return this.reportsTrust ? { lr, tensorLr, trustRatios: trust } : { lr, tensorLr };
  }
  /** LAMB and LARS report trust ratios. */
  protected get reportsTrust(): boolean {
    return false;
  }

  protected override saveScalars(): number[] | undefined {
    return this.#scalars ? this.scalarValues() : undefined;
  }
  protected override restoreScalars(s: OptimizerState): void {
    if (s.scalars) this.#writeScalars(s.scalars);
    this.#stepped = false;
  }

  override dispose(): void {
    if (this.disposed) return;
    this.#table.dispose();
    this.#out.dispose();
    this.#scalars?.dispose();
    super.dispose();
  }
}
