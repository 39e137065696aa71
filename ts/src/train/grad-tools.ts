// Gradient transforms between backward and the optimizer step: clipping by global norm or by value, and the
// scaling that makes k accumulated micro-batches equal one batch of all their samples.
import { checkNumber } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';

export interface ClipOptions {
  /** Rescales all gradients together when their global L2 norm exceeds this (torch's clip_grad_norm_). */
  clipNorm?: number;
  /** Clamps every gradient value to [−clipValue, clipValue] (torch's clip_grad_value_). */
  clipValue?: number;
}

/** Resolved clipping: null where off. */
export interface Clip {
  clipNorm: number | null;
  clipValue: number | null;
}

export function checkClip(where: string, o: ClipOptions): Clip {
  return {
    clipNorm: o.clipNorm === undefined ? null : checkNumber(where, 'clipNorm', o.clipNorm, 0, Infinity, { loOpen: true }),
    clipValue: o.clipValue === undefined ? null : checkNumber(where, 'clipValue', o.clipValue, 0, Infinity, { loOpen: true }),
  };
}

/**
 * Clips `grads` in place; returns the global norm before clipping (NaN when not computed). The norm is a
 * fixed-order f64 sum (the same bits for any thread count); as torch, the coefficient is
 * maxNorm / (norm + 1e-6), applied only when below 1. Value clipping runs first, as when a user calls
 * clip_grad_value_ before clip_grad_norm_.
 */
export function clipGradients(engine: Engine, grads: F32Buffer, clip: Clip): number {
  const ex = engine.exports;
  if (clip.clipValue !== null) ex.wcnn_clamp(grads.ptr, grads.length, -clip.clipValue, clip.clipValue);
  if (clip.clipNorm === null) return NaN;
  const norm = Math.sqrt(ex.wcnn_sum_squares(grads.ptr, grads.length));
  const coef = clip.clipNorm / (norm + 1e-6);
  if (coef < 1) ex.wcnn_scale(grads.ptr, grads.length, coef);
  return norm;
}
