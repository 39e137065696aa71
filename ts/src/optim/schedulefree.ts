// Schedule-Free AdamW and SGD (Defazio et al. 2024) as schedulefree 1.4.1's AdamWScheduleFree and
// SGDScheduleFree; the formulas live beside the kernel in crates/core/src/optim/schedulefree.rs:
//
//   lrₖ = lr·min(1, (k+1)/warmupSteps);  w = (k+1)^r·lr_max^weightLrPower;  c = w/Σw
//   AdamW: u = g/(√(v/(1−β₂ᵏ⁺¹)) + ε) with v ← β₂·v + (1−β₂)·g²;   SGD: u = g;   u ← u + wd·y
//   y ← lerp(y, z, c) + lrₖ(β(1−c) − 1)·u;   z ← z − lrₖ·u
//
// In train mode the parameters hold y (where gradients are taken); the model should be evaluated at x:
// `eval(params)` swaps the buffer to x = lerp(y, z, 1 − 1/β), `train(params)` back to y = lerp(x, z, 1 − β),
// as the reference's optimizer.eval()/train(). `mode` says which is in the buffer; step() needs 'train';
// saveState() records the mode. Defaults: AdamW lr 0.0025, betas [0.9, 0.999], eps 1e-8; SGD lr 1,
// momentum 0.9; both weightDecay 0, warmupSteps 0, r 0, weightLrPower 2. Slots: z, (AdamW) exp_avg_sq.
import { checkInt, checkNumber, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';
import { resolveParamGroups, type ResolvedParamGroup } from './layout.js';
import { checkBetas, checkConfig, checkEps, checkLr, type CommonConfig } from './options.js';
import type { OptimizerState, OptimizerTargetLike } from './optimizer.js';
import { TableOptimizer } from './table.js';

interface ScheduleFreeCommon extends CommonConfig {
  lr?: number;
  /** Default 0. */
  weightDecay?: number;
  /** Linear warm-up of the rate over this many steps; default 0. */
  warmupSteps?: number;
  /** The averaging weight's step power; default 0. */
  r?: number;
  /** The averaging weight's lr_max power; default 2. */
  weightLrPower?: number;
}
export interface ScheduleFreeAdamWConfig extends ScheduleFreeCommon {
  /** Default [0.9, 0.999]; β₁ is the interpolation between y and z. */
  betas?: readonly [number, number];
  eps?: number;
}
export interface ScheduleFreeSGDConfig extends ScheduleFreeCommon {
  /** In (0, 1); default 0.9. */
  momentum?: number;
}
interface ResolvedCommon {
  lr: number;
  weightDecay: number;
  warmupSteps: number;
  r: number;
  weightLrPower: number;
  paramGroups: ResolvedParamGroup[];
}
export type ResolvedScheduleFreeAdamWConfig = ResolvedCommon & { betas: [number, number]; eps: number };
export type ResolvedScheduleFreeSGDConfig = ResolvedCommon & { momentum: number };

const COMMON = ['lr', 'weightDecay', 'warmupSteps', 'r', 'weightLrPower', 'paramGroups'];
function common(w: string, c: Record<string, unknown>, lr: number): ResolvedCommon {
  return {
    lr: checkLr(w, c.lr ?? lr),
    weightDecay: checkNumber(w, 'weightDecay', c.weightDecay ?? 0, 0),
    warmupSteps: checkInt(w, 'warmupSteps', c.warmupSteps ?? 0, 0),
    r: checkNumber(w, 'r', c.r ?? 0, 0),
    weightLrPower: checkNumber(w, 'weightLrPower', c.weightLrPower ?? 2, 0),
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}
export function resolveScheduleFreeAdamW(cfg?: ScheduleFreeAdamWConfig): ResolvedScheduleFreeAdamWConfig {
  const w = 'ScheduleFreeAdamW';
  const c = checkConfig(w, cfg, [...COMMON, 'betas', 'eps']);
  const o = { ...common(w, c, 0.0025), betas: checkBetas(w, c.betas ?? [0.9, 0.999]), eps: checkEps(w, c.eps ?? 1e-8) };
  if (o.betas[0] === 0) throw new RangeError(`${w}: betas[0] must be > 0 (eval divides by it), got 0`);
  return o;
}
export function resolveScheduleFreeSGD(cfg?: ScheduleFreeSGDConfig): ResolvedScheduleFreeSGDConfig {
  const w = 'ScheduleFreeSGD';
  const c = checkConfig(w, cfg, [...COMMON, 'momentum']);
  return { ...common(w, c, 1), momentum: checkNumber(w, 'momentum', c.momentum ?? 0.9, 0, 1, { loOpen: true, hiOpen: true }) };
}

export abstract class ScheduleFree<C extends ResolvedCommon = ResolvedCommon> extends TableOptimizer {
  readonly options: C;
  #mode: 'train' | 'eval' = 'train';
  protected constructor(engine: Engine, target: OptimizerTargetLike, type: 'schedulefree_adamw' | 'schedulefree_sgd', name: string, o: C) {
    super(engine, type, name, target, o.paramGroups, { scalars: [0, 0, -1] });
    this.options = o;
    this.lr = o.lr;
    this.slot('z');
  }
  /** β₁ (AdamW) or the momentum (SGD). */
  protected abstract get beta(): number;

  /** Which weights the parameter buffer holds: y ('train', where gradients are taken) or x ('eval'). */
  get mode(): 'train' | 'eval' {
    return this.#mode;
  }
  /** Swaps `params` from y to x (the weights to evaluate and predict with); nothing if already in eval. */
  eval(params: F32Buffer): void {
    this.#swap(params, 'eval', 1 - 1 / this.beta);
  }
  /** Swaps `params` back from x to y before training continues; nothing if already in train. */
  train(params: F32Buffer): void {
    this.#swap(params, 'train', 1 - this.beta);
  }
  #swap(params: F32Buffer, to: 'train' | 'eval', w: number): void {
    this.alive();
    if (params.length !== this.size) throw new RangeError(`${this.name}.${to}: params has ${params.length} values, this optimizer was built for ${this.size}`);
    if (this.#mode === to) return;
    // Before the first step z does not exist yet (the reference swaps nothing): x = y = z.
    if (this.steps > 0 && this.runCount > 0) this.engine.exports.wcnn_schedulefree_swap(params.ptr, this.at('z', 0), this.size, this.tablePtr, this.runCount, w);
    this.#mode = to;
  }
  override step(params: F32Buffer, grads: F32Buffer, delta: F32Buffer | null = null): void {
    if (this.#mode !== 'train') throw new Error(`${this.name}.step: the parameters hold the eval weights; call train(params) before stepping`);
    super.step(params, grads, delta);
  }
  override saveState(): OptimizerState {
    return { ...super.saveState(), mode: this.#mode };
  }
  /** @internal */
  override _checkState(s: OptimizerState, where: string): void {
    super._checkState(s, where);
    if (s.mode !== 'train' && s.mode !== 'eval') throw new TypeError(`${where}: a Schedule-Free state needs mode 'train' or 'eval', got ${describe(s.mode)}`);
  }
  /** @internal */
  override _restoreState(s: OptimizerState): void {
    super._restoreState(s);
    this.#mode = s.mode!;
  }
  protected swapCall(p: number, g: number, d: number, beta1: number, beta2: number, eps: number, v: number): void {
    const o = this.options;
    this.engine.exports.wcnn_schedulefree_step(
      p, g, this.size, this.tablePtr, this.runCount, this.at('z', 0), v, this.scalarsPtr,
      this.lr, beta1, beta2, eps, o.weightDecay, o.warmupSteps, o.r, o.weightLrPower, d, this.outPtr,
    );
  }
}

export class ScheduleFreeAdamW extends ScheduleFree<ResolvedScheduleFreeAdamWConfig> {
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: ScheduleFreeAdamWConfig) {
    super(engine, target, 'schedulefree_adamw', 'ScheduleFreeAdamW', resolveScheduleFreeAdamW(cfg));
    this.slot('exp_avg_sq');
  }
  protected get beta(): number {
    return this.options.betas[0];
  }
  protected call(p: number, g: number, d: number): void {
    const o = this.options;
    this.swapCall(p, g, d, o.betas[0], o.betas[1], o.eps, this.at('exp_avg_sq', 0));
  }
  get config(): { type: 'schedulefree_adamw' } & ResolvedScheduleFreeAdamWConfig {
    return { type: 'schedulefree_adamw', ...structuredClone(this.options), lr: this.lr };
  }
}

export class ScheduleFreeSGD extends ScheduleFree<ResolvedScheduleFreeSGDConfig> {
  constructor(engine: Engine, target: OptimizerTargetLike, cfg?: ScheduleFreeSGDConfig) {
    super(engine, target, 'schedulefree_sgd', 'ScheduleFreeSGD', resolveScheduleFreeSGD(cfg));
  }
  protected get beta(): number {
    return this.options.momentum;
  }
  protected call(p: number, g: number, d: number): void {
    this.swapCall(p, g, d, this.options.momentum, 0, 0, 0);
  }
  get config(): { type: 'schedulefree_sgd' } & ResolvedScheduleFreeSGDConfig {
    return { type: 'schedulefree_sgd', ...structuredClone(this.options), lr: this.lr };
  }
}
