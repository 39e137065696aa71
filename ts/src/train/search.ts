// Hyperparameter search over engines in parallel workers: grid, random, or successive halving, seeded so the
// same options give the same table, wherever and in whatever order the trials finish.
//
//   const { trials, best } = await search({
//     space: { 'optimizer.lr': { min: 1e-4, max: 1e-2, log: true }, batchSize: { values: [32, 64] } },
//     strategy: 'successiveHalving', trials: 9, budget: 1, workers: 2, seed: 1,
//     base: { optimizer: { type: 'adam' } },
//     train: { spec, x, y, validationData },              // or your own async (config, ctx) => metric
//   });
//
// Determinism: trial i's seed is the i-th 32-bit draw of Rng(seed) (nn/rng.ts), its configuration is drawn
// from its own stream Rng(seed_i ^ 0xa5a5a5a5), so neither depends on how many trials there are; rows are
// ordered by trial index, not completion. With a deterministic train function (the built-in one is: the
// trial seed initialises the model and shuffles its batches, and results are bitwise the same on any thread
// count) two searches with the same options give the same table.
// Successive halving (Jamieson & Talwalkar 2016; Hyperband's inner loop, Li et al. 2018): every trial runs
// at `budget`; the best ⌊n/η⌋ (at least 1, failed ones never) go on to the next rung at twice the budget,
// until one is left. Each rung trains from scratch for its whole budget (same seed: a longer run of the
// same trajectory), so a train function needs no state across rungs.
// Failures: a trial that throws, returns a non-finite metric, or whose worker dies is recorded as failed
// with its error; the search goes on, on a fresh engine when the old one died or leaked memory.
import { checkInt, checkKeys, describe } from '../errors.js';
import { Rng } from '../nn/rng.js';
import type { ModelSpec } from '../nn/model-spec.js';
import type { RemoteEngine, RemoteFitOptions, SpawnOptions } from '../remote/engine.js';

/** Starts a remote engine: the package entry's `spawn`, bound to its runtime. */
export type Spawn = (opts: SpawnOptions) => Promise<RemoteEngine>;

/** One search dimension: a list of values (grid, or a uniform choice), or a range (random and halving). */
export type Dimension = { values: readonly unknown[] } | { min: number; max: number; log?: boolean; integer?: boolean };

/** Option paths (`'optimizer.lr'`, `'batchSize'`) to their dimensions. */
export type SearchSpace = Record<string, Dimension>;

export type Strategy = 'grid' | 'random' | 'successiveHalving';

export interface TrialContext {
  /** The worker's engine (reused across trials: dispose what you make). */
  engine: RemoteEngine;
  /** Epochs (or whatever unit your train function counts) for this run. */
  budget: number;
  /** This trial's seed (the same in every rung). */
  seed: number;
  /** Trial index and rung (0 for grid and random). */
  trial: number;
  rung: number;
  /** The sampled values by path, as in the table. */
  params: Record<string, unknown>;
  /** Aborted when the search's own signal is. */
  signal: AbortSignal;
}

/** A metric, or named metrics of which `objective.metric` is the one compared. */
export type TrialResult = number | Record<string, number>;

/** Your trainer: builds a model on ctx.engine from the configuration, trains it for ctx.budget, reports. */
export type TrainFunction = (config: Record<string, unknown>, ctx: TrialContext) => Promise<TrialResult>;

/**
 * The built-in trainer: builds `spec` (seeded with the trial seed) and fits it for `budget` epochs with the
 * configuration as fit options (over `fit`, the fixed ones); reports the last epoch's valLoss and
 * valAccuracy (loss only without validationData).
 */
export interface BuiltInTrainer {
  spec: ModelSpec;
  x: Float32Array;
  y: ArrayLike<number>;
  validationData?: { x: Float32Array; y: ArrayLike<number> };
  fit?: Omit<RemoteFitOptions, 'epochs' | 'callbacks' | 'checkpoint' | 'resume' | 'validationData'>;
}

export interface SearchOptions {
  space: SearchSpace;
  /** Default 'random'. */
  strategy?: Strategy;
  /** Configurations to try (random default 10, successive halving default 9); grid: all of its points. */
  trials?: number;
  /** Budget of every trial (grid, random) or of the first rung (successive halving); default 1. */
  budget?: number;
  /** Successive halving: keep the best 1/eta of each rung; default 3. */
  eta?: number;
  /** Engines trials run on in parallel; default 2. */
  workers?: number;
  /** Default 0. */
  seed?: number;
  /** What to compare: `metric` picks one of a trainer's named metrics; `mode` default 'min'. */
  objective?: { metric?: string; mode?: 'min' | 'max' };
  /** Fixed values the sampled ones are merged into (e.g. `{ optimizer: { type: 'adam' } }`). */
  base?: Record<string, unknown>;
  train: TrainFunction | BuiltInTrainer;
  /** How the engines are spawned; default `{ where: 'worker', threads: 1 }`. */
  engine?: SpawnOptions;
  /** Stops the search: running trials see it in ctx.signal, trials not started are 'cancelled'. */
  signal?: AbortSignal;
  /** Called as each trial's run ends (in completion order; the table is in index order). */
  onTrialEnd?(row: TrialRow): void;
}

export interface TrialRow {
  index: number;
  /** The sampled values merged into `base`, nested by path. */
  config: Record<string, unknown>;
  /** The sampled values by path. */
  params: Record<string, unknown>;
  seed: number;
  /** One entry per rung the trial ran: its budget and metric (and every metric the trainer named). */
  rungs: { budget: number; metric: number; metrics?: Record<string, number> }[];
  /** 'ok': ran the rungs it was given; 'failed': threw, died or gave no finite metric; 'cancelled': the search was aborted before it ran. */
  status: 'ok' | 'failed' | 'cancelled';
  error?: { name: string; message: string };
}

export interface SearchResult {
  strategy: Strategy;
  trials: TrialRow[];
  /** The best trial at the largest budget any trial reached (ties: the lower index); null when none succeeded. */
  best: { index: number; config: Record<string, unknown>; params: Record<string, unknown>; metric: number; budget: number } | null;
}

const SEARCH_KEYS = ['space', 'strategy', 'trials', 'budget', 'eta', 'workers', 'seed', 'objective', 'base', 'train', 'engine', 'signal', 'onTrialEnd'];
const STRATEGIES: readonly Strategy[] = ['grid', 'random', 'successiveHalving'];

/** Sets `value` at a dotted path of a nested object, creating objects on the way. */
function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = o;
  for (const k of keys.slice(0, -1)) {
    const next = at[k];
    at = at[k] = typeof next === 'object' && next !== null && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {};
  }
  at[keys[keys.length - 1]] = value;
}

function checkSpace(where: string, space: unknown, strategy: Strategy): [string, Dimension][] {
  if (typeof space !== 'object' || space === null || Array.isArray(space) || Object.keys(space).length === 0) {
    throw new TypeError(`${where}: space must map option paths to { values } or { min, max, log? }, got ${describe(space)}`);
  }
  return Object.entries(space).map(([path, d]) => {
    const at = `${where}: space['${path}']`;
    if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(path)) throw new TypeError(`${at}: a path is dotted names like 'optimizer.lr'`);
    if (typeof d !== 'object' || d === null) throw new TypeError(`${at} must be { values } or { min, max, log? }, got ${describe(d)}`);
    if ('values' in d) {
      checkKeys(at, d, ['values']);
      if (!Array.isArray(d.values) || d.values.length === 0) throw new TypeError(`${at}.values must be a non-empty array, got ${describe(d.values)}`);
      return [path, { values: [...d.values] }];
    }
    checkKeys(at, d, ['min', 'max', 'log', 'integer']);
    const r = d as { min: unknown; max: unknown; log?: unknown; integer?: unknown };
    if (strategy === 'grid') throw new TypeError(`${at}: a grid needs { values }, got a range`);
    if (typeof r.min !== 'number' || typeof r.max !== 'number' || !Number.isFinite(r.min) || !Number.isFinite(r.max) || !(r.min <= r.max)) {
      throw new RangeError(`${at}: min and max must be finite numbers with min ≤ max, got ${describe(r.min)} and ${describe(r.max)}`);
    }
    if (r.log !== undefined && typeof r.log !== 'boolean') throw new TypeError(`${at}.log must be a boolean, got ${describe(r.log)}`);
    if (r.integer !== undefined && typeof r.integer !== 'boolean') throw new TypeError(`${at}.integer must be a boolean, got ${describe(r.integer)}`);
    if (r.log && !(r.min > 0)) throw new RangeError(`${at}: a log-uniform range needs min > 0, got ${r.min}`);
    if (r.integer && (!Number.isInteger(r.min) || !Number.isInteger(r.max))) throw new RangeError(`${at}: an integer range needs integer bounds, got ${r.min} and ${r.max}`);
    return [path, { min: r.min, max: r.max, log: r.log ?? false, integer: r.integer ?? false }];
  });
}

/** One value of a dimension from `rng`: uniform choice, uniform, log-uniform or uniform integer in [min, max]. */
function sample(d: Dimension, rng: Rng): unknown {
  if ('values' in d) return d.values[rng.below(d.values.length)];
  const u = rng.uniform();
  if (d.integer) return Math.min(d.max, d.min + Math.floor(u * (d.max - d.min + 1)));
  if (d.log) return Math.min(d.max, Math.max(d.min, Math.exp(Math.log(d.min) + u * (Math.log(d.max) - Math.log(d.min)))));
  return d.min + u * (d.max - d.min);
}

/** Every point of a grid, the last path varying fastest (itertools.product's order). */
function gridPoints(dims: [string, Dimension][]): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const [path, d] of dims) {
    const values = (d as { values: unknown[] }).values;
    points = points.flatMap((p) => values.map((v) => ({ ...p, [path]: v })));
  }
  return points;
}

/** The built-in trainer as a TrainFunction. */
function builtIn(t: BuiltInTrainer): TrainFunction {
  return async (config, ctx): Promise<TrialResult> => {
    const model = await ctx.engine.sequential({ ...t.spec, seed: ctx.seed });
    try {
      const h = await model.fit(t.x, t.y, {
        ...t.fit, ...(config as RemoteFitOptions), epochs: ctx.budget, seed: ctx.seed, ...(t.validationData ? { validationData: t.validationData } : {}),
      });
      const last = h.epochs[h.epochs.length - 1];
      return t.validationData ? { valLoss: last.valLoss!, valAccuracy: last.valAccuracy!, loss: last.loss } : { loss: last.loss };
    } finally {
      await model.dispose();
    }
  };
}

function checkTrainer(where: string, t: unknown): TrainFunction {
  if (typeof t === 'function') return t as TrainFunction;
  if (typeof t !== 'object' || t === null) throw new TypeError(`${where}: train must be a function (config, ctx) => metric or { spec, x, y, validationData? }, got ${describe(t)}`);
  checkKeys(`${where}: train`, t, ['spec', 'x', 'y', 'validationData', 'fit']);
  const b = t as BuiltInTrainer;
  if (typeof b.spec !== 'object' || b.spec === null) throw new TypeError(`${where}: train.spec must be a model spec, got ${describe(b.spec)}`);
  if (!(b.x instanceof Float32Array)) throw new TypeError(`${where}: train.x must be a Float32Array, got ${describe(b.x)}`);
  return builtIn(b);
}

/** The metric a trainer's result gives, or an error naming what was wrong. */
function metricOf(r: TrialResult, metric: string | undefined): { metric: number; metrics?: Record<string, number> } {
  if (typeof r === 'number') {
    if (!Number.isFinite(r)) throw new RangeError(`the trial's metric is ${r}`);
    return { metric: r };
  }
  if (typeof r !== 'object' || r === null) throw new TypeError(`the trial returned ${describe(r)}, not a metric or named metrics`);
  if (metric === undefined) throw new TypeError(`the trial returned named metrics (${Object.keys(r).join(', ')}); set objective.metric to one of them`);
  const v = r[metric];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`the trial's metric '${metric}' is ${describe(v)}`);
  return { metric: v, metrics: { ...r } };
}

const errorOf = (e: unknown) => (e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) });

/** The engines trials run on: one loop per engine takes the next job; a dead or leaking engine is replaced. */
class Pool {
  readonly #engines: (RemoteEngine | null)[];
  readonly #opts: SpawnOptions;
  readonly #spawn: Spawn;
  constructor(n: number, spawn: Spawn, opts: SpawnOptions) {
    this.#engines = new Array<RemoteEngine | null>(n).fill(null);
    this.#spawn = spawn;
    this.#opts = opts;
  }
  async #engine(k: number): Promise<RemoteEngine> {
    return (this.#engines[k] ??= await this.#spawn(this.#opts));
  }
  /** Runs every job, `engines` at a time; `run(job, engine)` never throws (it records failures). */
  async run<J>(jobs: readonly J[], run: (job: J, engine: RemoteEngine) => Promise<boolean>): Promise<void> {
    let next = 0;
    await Promise.all(this.#engines.map(async (_, k) => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const ok = await run(job, await this.#engine(k));
        // A failed trial may have killed its worker or left models behind: check, and start afresh if so.
        if (!ok || (await this.#engines[k]!.liveBytes().catch(() => -1)) !== 0) await this.#replace(k);
      }
    }));
  }
  async #replace(k: number): Promise<void> {
    const e = this.#engines[k];
    this.#engines[k] = null;
    await e?.terminate();
  }
  async close(): Promise<void> {
    await Promise.all(this.#engines.map((_, k) => this.#replace(k)));
  }
}

/** Runs a hyperparameter search (see the file comment); resolves with the table and the best configuration. */
/** `search` with the engines started by `spawn` (each package entry exports it bound to its `spawn`). */
export async function searchWith(spawn: Spawn, opts: SearchOptions): Promise<SearchResult> {
  const w = 'search';
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`${w}: options must be an object, got ${describe(opts)}`);
  checkKeys(w, opts, SEARCH_KEYS);
  const strategy = opts.strategy ?? 'random';
  if (!STRATEGIES.includes(strategy)) throw new TypeError(`${w}: strategy must be one of ${STRATEGIES.map((s) => `'${s}'`).join(', ')}, got ${describe(strategy)}`);
  const dims = checkSpace(w, opts.space, strategy);
  const seed = checkInt(w, 'seed', opts.seed ?? 0, 0, 0xffffffff);
  const budget = opts.budget ?? 1;
  if (typeof budget !== 'number' || !(budget > 0) || !Number.isFinite(budget)) throw new RangeError(`${w}: budget must be a finite number > 0, got ${describe(budget)}`);
  const eta = opts.eta ?? 3;
  if (typeof eta !== 'number' || !(eta > 1) || !Number.isFinite(eta)) throw new RangeError(`${w}: eta must be a finite number > 1, got ${describe(eta)}`);
  const workers = checkInt(w, 'workers', opts.workers ?? 2, 1, 64);
  const grid = strategy === 'grid' ? gridPoints(dims) : null;
  if (grid && opts.trials !== undefined && opts.trials !== grid.length) {
    throw new RangeError(`${w}: the grid has ${grid.length} points; trials must be absent or ${grid.length}, got ${describe(opts.trials)}`);
  }
  const count = grid ? grid.length : checkInt(w, 'trials', opts.trials ?? (strategy === 'random' ? 10 : 9), 1, 1e6);
  const objective = opts.objective ?? {};
  if (typeof objective !== 'object' || objective === null) throw new TypeError(`${w}: objective must be { metric?, mode? }, got ${describe(objective)}`);
  checkKeys(`${w}: objective`, objective, ['metric', 'mode']);
  const mode = objective.mode ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw new TypeError(`${w}: objective.mode must be 'min' or 'max', got ${describe(mode)}`);
  const isBuiltIn = typeof opts.train !== 'function';
  const metricName = objective.metric ?? (isBuiltIn ? (((opts.train as BuiltInTrainer)?.validationData) ? 'valLoss' : 'loss') : undefined);
  if (metricName !== undefined && typeof metricName !== 'string') throw new TypeError(`${w}: objective.metric must be a string, got ${describe(metricName)}`);
  const train = checkTrainer(w, opts.train);
  const base = opts.base ?? {};
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new TypeError(`${w}: base must be an object, got ${describe(base)}`);
  if (opts.onTrialEnd !== undefined && typeof opts.onTrialEnd !== 'function') throw new TypeError(`${w}: onTrialEnd must be a function, got ${describe(opts.onTrialEnd)}`);
  const signal = opts.signal ?? new AbortController().signal;

  // The trials: seeds from one stream, each configuration from the trial's own stream.
  const seeds = new Rng(seed);
  const rows: TrialRow[] = Array.from({ length: count }, (_, index) => {
    const s = seeds.nextU32();
    const rng = new Rng((s ^ 0xa5a5a5a5) >>> 0);
    const params = grid ? grid[index] : Object.fromEntries(dims.map(([path, d]) => [path, sample(d, rng)]));
    const config = structuredClone(base) as Record<string, unknown>;
    for (const [path, v] of Object.entries(params)) setPath(config, path, v);
    return { index, config, params, seed: s, rungs: [], status: 'ok' };
  });

  const better = (a: TrialRow, b: TrialRow) => {
    const [x, y] = [a.rungs[a.rungs.length - 1].metric, b.rungs[b.rungs.length - 1].metric];
    return x !== y ? (mode === 'min' ? x - y : y - x) : a.index - b.index;
  };
  const pool = new Pool(workers, spawn, { where: 'worker', threads: 1, ...opts.engine });
  try {
    let alive = rows;
    for (let rung = 0, b = budget; alive.length > 0; rung++, b *= 2) {
      await pool.run(alive, async (row, engine) => {
        if (signal.aborted) {
          row.status = 'cancelled';
          return true;
        }
        let ok = true;
        try {
          const r = await train(structuredClone(row.config), { engine, budget: b, seed: row.seed, trial: row.index, rung, params: { ...row.params }, signal });
          row.rungs.push({ budget: b, ...metricOf(r, metricName) });
        } catch (e) {
          row.status = 'failed';
          row.error = errorOf(e);
          ok = false;
        }
        opts.onTrialEnd?.(structuredClone(row));
        return ok;
      });
      if (strategy !== 'successiveHalving' || alive.length === 1 || signal.aborted) break;
      const done = alive.filter((r) => r.status === 'ok').sort(better);
      alive = done.slice(0, Math.max(1, Math.floor(alive.length / eta)));
    }
  } finally {
    await pool.close();
  }
  const ok = rows.filter((r) => r.status === 'ok' && r.rungs.length > 0);
  const top = Math.max(0, ...ok.map((r) => r.rungs.length));
  const best = ok.filter((r) => r.rungs.length === top).sort(better)[0];
  return {
    strategy,
    trials: rows,
    best: best
      ? { index: best.index, config: best.config, params: best.params, metric: best.rungs[top - 1].metric, budget: best.rungs[top - 1].budget }
      : null,
  };
}
