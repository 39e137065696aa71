// A model definition as plain JSON: the per-sample input shape and the layers (ops and containers).
import type { LayerSpecJSON } from './graph.js';
import type { InitScheme } from './init.js';

export interface ModelSpec {
  /** Per-sample input shape: [channels, height, width] for images, [features] for flat input. */
  inputShape: readonly number[];
  layers: readonly LayerSpecJSON[];
  /** The default initialisation of conv and dense weights and biases ('he' unless given). */
  init?: InitScheme;
  /** Seed of the initialisation (and of dropout masks); the same seed gives the same weights everywhere. */
  seed?: number;
}
