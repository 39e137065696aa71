// Shape logic for sliding windows (conv and pool), mirrored from crates/core/src/op/geom.rs.
import { checkInt, describe } from '../errors.js';

export type Pair = number | readonly [number, number];
/** 'valid' = no padding; 'same' = output size equals input size (stride 1 only, as in PyTorch). */
export type Padding = 'valid' | 'same' | Pair;

/** Everything a window kernel needs; pt/pl are top/left padding, bottom/right is implied by oh/ow. */
export interface Window {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number;
  pt: number; pl: number; dh: number; dw: number;
  oh: number; ow: number;
}

export function pair(where: string, name: string, v: Pair | undefined, dflt: number, min: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === 'number') {
    checkInt(where, name, v, min);
    return [v, v];
  }
  if (!Array.isArray(v) || v.length !== 2) {
    throw new TypeError(`${where}: ${name} must be an integer or a pair [h, w], got ${describe(v)}`);
  }
  return [checkInt(where, `${name}[0]`, v[0], min), checkInt(where, `${name}[1]`, v[1], min)];
}

function outSize(input: number, k: number, stride: number, padTotal: number, dil: number): number {
  const span = dil * (k - 1) + 1;
  return Math.floor((input + padTotal - span) / stride) + 1;
}

export interface WindowOptions {
  kernel: [number, number];
  stride: [number, number];
  padding: Padding;
  dilation: [number, number];
}

/**
 * Resolves padding and output size for an input of `c × h × w`. Throws a RangeError naming `where` when the
 * window does not fit or the options contradict (e.g. 'same' with stride > 1).
 */
export function resolveWindow(where: string, n: number, c: number, h: number, w: number, o: WindowOptions): Window {
  const [kh, kw] = o.kernel;
  const [sh, sw] = o.stride;
  const [dh, dw] = o.dilation;
  let pt: number, pl: number, padH: number, padW: number;
  if (o.padding === 'valid') {
    pt = pl = padH = padW = 0;
  } else if (o.padding === 'same') {
    if (sh !== 1 || sw !== 1) {
      throw new RangeError(`${where}: padding 'same' needs stride 1 (as in PyTorch), got stride [${sh}, ${sw}]`);
    }
    // PyTorch: total d·(k-1), the smaller half at top/left.
    padH = dh * (kh - 1);
    padW = dw * (kw - 1);
    pt = Math.floor(padH / 2);
    pl = Math.floor(padW / 2);
  } else {
    const [ph, pw] = pair(where, 'padding', o.padding, 0, 0);
    pt = ph; pl = pw; padH = 2 * ph; padW = 2 * pw;
  }
  const oh = outSize(h, kh, sh, padH, dh);
  const ow = outSize(w, kw, sw, padW, dw);
  if (!(oh >= 1 && ow >= 1)) {
    throw new RangeError(
      `${where}: window ${kh}×${kw} (dilation ${dh}×${dw}, padding ${pt}/${pl}) does not fit input ${c}×${h}×${w}`,
    );
  }
  return { n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow };
}
