// Early stopping with Keras 3's semantics (keras.callbacks.EarlyStopping, without baseline / start_from_epoch):
// a value improves when it beats the best so far by more than minDelta; an improvement resets the wait and
// never stops; otherwise the wait grows, and training stops once it reaches `patience` (patience 0: at the
// first epoch without improvement). As in Keras, nothing stops at epoch 0.
import { checkBool, checkInt, checkKeys, checkNumber, describe } from '../errors.js';

export type EarlyStoppingMonitor = 'valLoss' | 'loss' | 'valAccuracy';

export interface EarlyStoppingConfig {
  /** The epoch metric watched, default 'valLoss'. */
  monitor?: EarlyStoppingMonitor;
  /** Whether it should fall or rise; default 'max' for valAccuracy, else 'min'. */
  mode?: 'min' | 'max';
  /** Epochs without improvement before stopping, default 0. */
  patience?: number;
  /** An improvement must beat the best by more than this, default 0. */
  minDelta?: number;
  /** Whether fit() should end with the best epoch's weights, default false. */
  restoreBest?: boolean;
}

export type EarlyStoppingVerdict = 'improved' | 'wait' | 'stop';

/** An EarlyStopping's position, as plain JSON. */
export interface EarlyStoppingState {
  monitor: EarlyStoppingMonitor;
  mode: 'min' | 'max';
  /** The best value so far, null before the first improvement. */
  best: number | null;
  /** The epoch of `best`, −1 before the first improvement. */
  bestEpoch: number;
  /** Epochs since the last improvement. */
  wait: number;
}

const KEYS = ['monitor', 'mode', 'patience', 'minDelta', 'restoreBest'] as const;
const MONITORS: readonly EarlyStoppingMonitor[] = ['valLoss', 'loss', 'valAccuracy'];

function checkOneOf<T extends string>(where: string, name: string, v: unknown, options: readonly T[]): T {
  if (!options.includes(v as T)) {
    throw new TypeError(`${where}: ${name} must be one of ${options.map((o) => `'${o}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

export class EarlyStopping {
  readonly monitor: EarlyStoppingMonitor;
  readonly mode: 'min' | 'max';
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBest: boolean;
  #best: number | null = null;
  #bestEpoch = -1;
  #wait = 0;

  constructor(cfg: EarlyStoppingConfig = {}) {
    const w = 'earlyStopping';
    if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
      throw new TypeError(`${w}: expected an options object like { patience: 3 }, got ${describe(cfg)}`);
    }
    checkKeys(w, cfg, KEYS);
    this.monitor = checkOneOf(w, 'monitor', cfg.monitor ?? 'valLoss', MONITORS);
    this.mode = checkOneOf(w, 'mode', cfg.mode ?? (this.monitor === 'valAccuracy' ? 'max' : 'min'), ['min', 'max'] as const);
    this.patience = checkInt(w, 'patience', cfg.patience ?? 0, 0);
    this.minDelta = checkNumber(w, 'minDelta', cfg.minDelta ?? 0, 0);
    this.restoreBest = checkBool(w, 'restoreBest', cfg.restoreBest ?? false);
  }

  /** The options with defaults filled in. */
  get config(): Required<EarlyStoppingConfig> {
    const { monitor, mode, patience, minDelta, restoreBest } = this;
    return { monitor, mode, patience, minDelta, restoreBest };
  }
  /** The best value so far (Keras: +∞ in 'min' mode, −∞ in 'max' mode before any). */
  get best(): number {
    return this.#best ?? (this.mode === 'min' ? Infinity : -Infinity);
  }
  /** The epoch that gave `best`, −1 before any improvement. */
  get bestEpoch(): number {
    return this.#bestEpoch;
  }
  /** Epochs since the last improvement. */
  get wait(): number {
    return this.#wait;
  }

  /**
   * Records the monitored value after `epoch` (0-based). 'improved': a new best (save weights now for
   * restoreBest); 'wait': no improvement yet within patience; 'stop': `patience` epochs without one.
   * NaN and ±∞ never improve.
   */
  update(value: number, epoch: number): EarlyStoppingVerdict {
    if (typeof value !== 'number') throw new TypeError(`earlyStopping: the monitored ${this.monitor} must be a number, got ${describe(value)}`);
    checkInt('earlyStopping', 'epoch', epoch, 0);
    // Keras: monitor_op(current − min_delta, best) with min_delta negated in 'min' mode.
    // Non-finite values never improve (a best of ±∞ could not be saved as JSON).
    const improved =
      Number.isFinite(value) && (this.mode === 'min' ? value + this.minDelta < this.best : value - this.minDelta > this.best);
    if (improved) {
      this.#best = value;
      this.#bestEpoch = epoch;
      this.#wait = 0;
      return 'improved';
    }
    this.#wait++;
    return this.#wait >= this.patience && epoch > 0 ? 'stop' : 'wait';
  }

  saveState(): EarlyStoppingState {
    return { monitor: this.monitor, mode: this.mode, best: this.#best, bestEpoch: this.#bestEpoch, wait: this.#wait };
  }

  /** Throws unless `s` is a state this instance can load; the monitor and mode must be its own (patience may differ). */
  checkState(s: EarlyStoppingState): void {
    const w = 'earlyStopping: loadState';
    if (typeof s !== 'object' || s === null) throw new TypeError(`${w}: expected a saved early-stopping state, got ${describe(s)}`);
    if (s.monitor !== this.monitor || s.mode !== this.mode) {
      throw new RangeError(`${w}: the state watches ${describe(s.monitor)} (${describe(s.mode)}), this instance '${this.monitor}' ('${this.mode}')`);
    }
    checkInt(w, 'bestEpoch', s.bestEpoch, -1);
    if ((s.best === null) !== (s.bestEpoch === -1)) {
      throw new RangeError(`${w}: best is ${describe(s.best)} with bestEpoch ${s.bestEpoch} (null goes with −1)`);
    }
    if (s.best !== null) checkNumber(w, 'best', s.best);
    checkInt(w, 'wait', s.wait, 0);
  }

  /** Validates before changing anything (checkState). */
  loadState(s: EarlyStoppingState): void {
    this.checkState(s);
    this.#best = s.best;
    this.#bestEpoch = s.bestEpoch;
    this.#wait = s.wait;
  }
}
