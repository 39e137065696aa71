// batchNorm2d / batchNorm1d: PyTorch's nn.BatchNorm2d/1d. Training normalises with the batch's statistics
// (biased variance) and updates running_mean / running_var with `momentum` (unbiased variance; momentum null:
// the cumulative average), counting num_batches_tracked; eval normalises with the running statistics.
// `trackRunningStats: false` keeps no buffers and uses batch statistics in eval too.
import { checkBool, checkNumber, describe } from '../../errors.js';
import { checkInit } from '../init.js';
import { expectRank, type Decl, type OpDef } from './op.js';

export interface BatchNormSpec {
  type: 'batchNorm2d' | 'batchNorm1d';
  name?: string;
  eps?: number;
  /** Running-statistics update factor, default 0.1; null for the cumulative moving average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export interface BatchNormAttrs {
  channels: number;
  /** Values per channel per sample (H·W, or L, or 1). */
  plane: number;
  eps: number;
  momentum: number | null;
  affine: boolean;
  trackRunningStats: boolean;
}

function batchNorm(type: 'batchNorm2d' | 'batchNorm1d'): OpDef<BatchNormAttrs> {
  return {
    type,
    keys: ['eps', 'momentum', 'affine', 'trackRunningStats', 'weightInit', 'biasInit'],
    arity: 1,
    build(where, s, [x]) {
      if (type === 'batchNorm2d') expectRank(where, x, [3], 'a [channels, height, width] input');
      else expectRank(where, x, [1, 2], 'a [features] or [channels, length] input');
      const eps = checkNumber(where, 'eps', s.eps ?? 1e-5, 0, Infinity, { loOpen: true });
      const m = s.momentum === undefined ? 0.1 : s.momentum;
      if (m !== null && typeof m !== 'number') throw new TypeError(`${where}: momentum must be a number in [0, 1] or null, got ${describe(m)}`);
      const momentum = m === null ? null : checkNumber(where, 'momentum', m, 0, 1);
      const affine = checkBool(where, 'affine', s.affine ?? true);
      const trackRunningStats = checkBool(where, 'trackRunningStats', s.trackRunningStats ?? true);
      const channels = x[0];
      const plane = x.slice(1).reduce((a, b) => a * b, 1);
      const decl = (name: string, role: Decl['role'], init: Decl['init'], tags: Decl['tags'], shape = [channels]): Decl => ({ name, shape, init, role, fanIn: channels, fanOut: channels, tags });
      const params = affine
        ? [decl('weight', 'normWeight', checkInit(where, 'weightInit', s.weightInit ?? 'default'), ['norm', 'weight']), decl('bias', 'normBias', checkInit(where, 'biasInit', s.biasInit ?? 'default'), ['norm', 'bias'])]
        : [];
      const state = trackRunningStats
        ? [decl('running_mean', 'runningMean', 'default', []), decl('running_var', 'runningVar', 'default', []), decl('num_batches_tracked', 'count', 'default', [], [])]
        : [];
      const spec: Record<string, unknown> = { eps, momentum, affine, trackRunningStats };
      for (const k of ['weightInit', 'biasInit'] as const) if (s[k] !== undefined) spec[k] = s[k];
      return { attrs: { channels, plane, eps, momentum, affine, trackRunningStats }, out: x, params, state, spec };
    },
  };
}

export const batchNorm2d = batchNorm('batchNorm2d');
export const batchNorm1d = batchNorm('batchNorm1d');
