// Seeded parameter initialisation. Only uniform distributions: they need no log/cos, whose last bits differ
// between JS engines, so one seed gives the same weights in Node, Deno, Bun and browsers.
import type { Rng } from './rng.js';

/**
 * - `he`: He/Kaiming uniform for ReLU nets, weights U(±√(6/fan_in)), biases 0.
 * - `glorot`: Glorot/Xavier uniform, U(±√(6/(fan_in+fan_out))), biases 0 (Keras' default).
 * - `pytorch`: PyTorch's Conv2d/Linear default, weights and biases U(±1/√fan_in).
 */
export type InitScheme = 'he' | 'glorot' | 'pytorch';
export const INIT_SCHEMES: readonly InitScheme[] = ['he', 'glorot', 'pytorch'];

export function fillParam(out: Float32Array, kind: 'weight' | 'bias', fanIn: number, fanOut: number, scheme: InitScheme, rng: Rng): void {
  let bound: number;
  if (kind === 'bias') {
    bound = scheme === 'pytorch' ? 1 / Math.sqrt(fanIn) : 0;
  } else if (scheme === 'he') {
    bound = Math.sqrt(6 / fanIn);
  } else if (scheme === 'glorot') {
    bound = Math.sqrt(6 / (fanIn + fanOut));
  } else {
    bound = 1 / Math.sqrt(fanIn);
  }
  for (let i = 0; i < out.length; i++) out[i] = bound === 0 ? 0 : (2 * rng.uniform() - 1) * bound;
}
