// Lookahead (Zhang, Lucas, Hinton & Ba 2019): an inner optimizer moves the fast weights (the parameters);
// every k steps the slow weights move a fraction α toward them and the fast weights restart from there.
// The sync is the kernel in crates/core/src/optim/lookahead.rs:
//
//   slow ← slow + α·(fast − slow);  fast ← slow          (slow starts as a copy of the parameters)
//
// Paper defaults: k 5, α 0.5. Slot: `slow`, plus the inner optimizer's (in `inner` of a saved state).
import { checkInt, checkNumber, describe } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';
import { resolveParamGroups, type ResolvedParamGroup, type Run } from './layout.js';
import { checkConfig, type CommonConfig } from './options.js';
import { Optimizer, type OptimizerState, type OptimizerTargetLike } from './optimizer.js';
import { BASE_OPTIMIZERS, type BaseOptimizerConfig, type BaseOptimizerName } from './registry.js';

export interface LookaheadConfig extends CommonConfig {
  /** Inner steps between synchronisations (an integer ≥ 1); default 5. */
  k?: number;
  /** Slow-weight step size in [0, 1]; default 0.5. */
  alpha?: number;
  /**
   * The inner optimizer (a config or a name; not another lookahead). Its rate is this optimizer's `lr`.
   * Parameter groups go on the lookahead config and apply to both the inner steps and the sync.
   */
  inner: BaseOptimizerConfig | BaseOptimizerName;
  /** Not an option: the rate is the inner optimizer's (`inner.lr`; `optimizer.lr` reads and sets it). */
  lr?: never;
}

export interface ResolvedLookaheadConfig {
  k: number;
  alpha: number;
  /** The inner config, complete (without paramGroups). */
  inner: BaseOptimizerConfig;
  paramGroups: ResolvedParamGroup[];
}

const KEYS = ['k', 'alpha', 'inner', 'paramGroups'] as const;

export function resolveLookahead(cfg?: LookaheadConfig): ResolvedLookaheadConfig {
  const w = 'Lookahead';
  const c = checkConfig(w, cfg, KEYS);
  const inner = typeof c.inner === 'string' ? { type: c.inner } : c.inner;
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
    throw new TypeError(`${w}: inner must be an optimizer config like { type: 'adam' } or a name, got ${describe(c.inner)}`);
  }
  const { type, ...rest } = inner as { type?: unknown };
  if (type === 'lookahead') throw new TypeError(`${w}: inner cannot be another lookahead`);
  if (typeof type !== 'string' || !(type in BASE_OPTIMIZERS)) {
    throw new TypeError(`${w}: unknown inner type ${describe(type)} (known: ${Object.keys(BASE_OPTIMIZERS).join(', ')})`);
  }
  if ('paramGroups' in rest) throw new TypeError(`${w}: set paramGroups on the lookahead config, not on inner (they apply to both)`);
  const { paramGroups: _, ...resolved } = BASE_OPTIMIZERS[type as BaseOptimizerName].resolve(rest);
  return {
    k: checkInt(w, 'k', c.k ?? 5, 1),
    alpha: checkNumber(w, 'alpha', c.alpha ?? 0.5, 0, 1),
    inner: { type, ...resolved } as BaseOptimizerConfig,
    paramGroups: resolveParamGroups(w, c.paramGroups),
  };
}

export class Lookahead extends Optimizer {
  readonly options: ResolvedLookaheadConfig;
  /** The optimizer of the fast weights. */
  readonly inner: Optimizer;
  readonly #slow: F32Buffer;

  constructor(engine: Engine, target: OptimizerTargetLike, cfg: LookaheadConfig) {
    const o = resolveLookahead(cfg);
    super(engine, 'lookahead', 'Lookahead', target, o.paramGroups);
    this.options = o;
    const { type, ...inner } = o.inner;
    this.inner = BASE_OPTIMIZERS[type].make(engine, target, { ...inner, paramGroups: o.paramGroups });
    try {
      this.#slow = this.slot('slow');
    } catch (e) {
      this.inner.dispose();
      throw e;
    }
  }

  /** The inner optimizer's rate. */
  override get lr(): number {
    return this.inner.lr;
  }
  override set lr(v: number) {
    this.inner.lr = v;
  }

  protected override update(params: F32Buffer, grads: F32Buffer, delta: F32Buffer | null, t: number): void {
    const ex = this.engine.exports;
    if (t === 1) ex.wcnn_copy(this.#slow.ptr, params.ptr, 4 * this.size);
    if (t % this.options.k !== 0) {
      this.inner.step(params, grads, delta);
      return;
    }
    // A sync step moves the parameters twice; delta = p_after + (−p_before), bitwise p_after − p_before.
    if (delta) {
      ex.wcnn_copy(delta.ptr, params.ptr, 4 * this.size);
      ex.wcnn_scale(delta.ptr, this.size, -1);
    }
    this.inner.step(params, grads);
    super.update(params, grads, null, t);
    if (delta) ex.wcnn_add_into(delta.ptr, params.ptr, this.size);
  }

  /** The sync over one run (called by the base update on sync steps). */
  protected apply(r: Run, p: number): void {
    this.engine.exports.wcnn_lookahead_sync(p, this.at('slow', r.offset), r.length, this.options.alpha, 0);
  }

  /** `slow` and the inner optimizer's slots. */
  override state(): Record<string, Float32Array> {
    return { ...this.inner.state(), ...super.state() };
  }

  override saveState(): OptimizerState {
    return { ...super.saveState(), slots: super.state(), inner: this.inner.saveState() };
  }

  /** @internal */
  override _checkState(s: OptimizerState, where: string): void {
    super._checkState(s, where);
    if (typeof s.inner !== 'object' || s.inner === null) throw new TypeError(`${where}: a lookahead state needs the inner optimizer's state, got ${describe(s.inner)}`);
    this.inner._checkState(s.inner, `${where} (inner)`);
  }
  /** @internal */
  override _restoreState(s: OptimizerState): void {
    super._restoreState(s);
    this.inner._restoreState(s.inner!);
  }

  get config(): { type: 'lookahead' } & ResolvedLookaheadConfig {
    const { paramGroups: _, ...inner } = this.inner.config as BaseOptimizerConfig & { paramGroups?: unknown };
    return { type: 'lookahead', ...structuredClone(this.options), inner: inner as BaseOptimizerConfig };
  }

  override dispose(): void {
    super.dispose();
    this.inner.dispose();
  }
}
