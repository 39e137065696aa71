// Per-layer training telemetry, cheap enough to leave on: one fused pass per parameter tensor over the
// gradient, the weights and the update the optimizer just applied (wcnn_range_stats, f64 sums in a fixed order).
import type { Engine } from '../runtime/engine.js';
import type { F32Buffer } from '../runtime/memory.js';
import type { LastStep } from '../optim/optimizer.js';

export interface LayerTelemetry {
  /** Layer name (`conv2d_0`); its weight and bias together. */
  layer: string;
  /** L2 norm of the layer's gradient (after clipping, as the optimizer saw it). */
  gradNorm: number;
  /** L2 norm of the layer's weights after the step. */
  weightNorm: number;
  /** L2 norm of the update, and its ratio to the weight norm (≈1e-3 is the usual healthy range). */
  updateNorm: number;
  updateRatio: number;
  /**
   * The effective per-parameter step |Δp| the optimizer took (for Adam, lr·m̂/(√v̂+ε) per parameter, plus
   * weight decay): mean, min and max over the layer. Adaptive methods spread these; SGD keeps them ∝ |g|.
   */
  step: { mean: number; min: number; max: number };
  /**
   * Per tensor of the layer, when the optimizer's `lastStep()` is passed to `read`: the effective rate of
   * the step (Prodigy's d·lr, RAdam's rectified rate, LAMB's lr·trust, …) and the trust ratio (LAMB, LARS).
   */
  rates?: { tensor: string; lr: number; trustRatio?: number }[];
}

/** Groups the model's tensors by layer and reads the statistics of one step. */
export class Telemetry {
  readonly #engine: Engine;
  readonly #layers: { layer: string; tensors: { offset: number; length: number; name: string; index: number }[] }[] = [];
  readonly #out: F32Buffer;

  constructor(engine: Engine, tensors: readonly { name: string; offset: number; length: number }[]) {
    this.#engine = engine;
    for (const [index, t] of tensors.entries()) {
      const layer = t.name.includes('.') ? t.name.slice(0, t.name.lastIndexOf('.')) : t.name;
      let entry = this.#layers.find((l) => l.layer === layer);
      if (!entry) this.#layers.push((entry = { layer, tensors: [] }));
      entry.tensors.push({ offset: t.offset, length: t.length, name: t.name, index });
    }
    this.#out = engine.alloc(12, 'telemetry statistics'); // 6 f64
  }

  /** `step`: the optimizer's `lastStep()` (its tensors in the same order as this telemetry's), for `rates`. */
  read(grads: F32Buffer, params: F32Buffer, delta: F32Buffer, step?: LastStep): LayerTelemetry[] {
    const ex = this.#engine.exports;
    return this.#layers.map(({ layer, tensors }) => {
      let [g2, p2, d2, dmin, dmax, dsum, n] = [0, 0, 0, Infinity, 0, 0, 0];
      for (const t of tensors) {
        const at = 4 * t.offset;
        ex.wcnn_range_stats(grads.ptr + at, params.ptr + at, delta.ptr + at, t.length, this.#out.ptr);
        const s = new Float64Array(ex.memory.buffer, this.#out.ptr, 6);
        g2 += s[0];
        p2 += s[1];
        d2 += s[2];
        dmin = Math.min(dmin, s[3]);
        dmax = Math.max(dmax, s[4]);
        dsum += s[5];
        n += t.length;
      }
      const weightNorm = Math.sqrt(p2);
      const updateNorm = Math.sqrt(d2);
      const rates = step
        ? tensors.map((t) => ({ tensor: t.name, lr: step.tensorLr[t.index], ...(step.trustRatios ? { trustRatio: step.trustRatios[t.index] } : {}) }))
        : undefined;
      return {
        ...(rates ? { rates } : {}),
        layer,
        gradNorm: Math.sqrt(g2),
        weightNorm,
        updateNorm,
        updateRatio: weightNorm > 0 ? updateNorm / weightNorm : 0,
        step: { mean: n > 0 ? dsum / n : 0, min: n > 0 ? dmin : 0, max: dmax },
      };
    });
  }

  dispose(): void {
    this.#out.dispose();
  }
}
