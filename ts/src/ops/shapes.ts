// Shape checks shared by the functional ops.
import { checkFinite, checkInt, checkLength, describe } from '../errors.js';

export type Shape4 = readonly [number, number, number, number];
export type Shape2 = readonly [number, number];

export function checkShape<S extends readonly number[]>(where: string, name: string, shape: unknown, rank: S['length']): S {
  if (!Array.isArray(shape) || shape.length !== rank) {
    throw new TypeError(`${where}: ${name} must be an array of ${rank} sizes, got ${describe(shape)}`);
  }
  shape.forEach((d, i) => checkInt(where, `${name}[${i}]`, d, 1));
  return shape as unknown as S;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Checks that `data` is a Float32Array of the shape's size with finite values. */
export function checkData(where: string, name: string, data: unknown, shape: readonly number[]): Float32Array {
  if (!(data instanceof Float32Array)) {
    throw new TypeError(`${where}: ${name} must be a Float32Array, got ${describe(data)}`);
  }
  checkLength(where, name, data, size(shape));
  checkFinite(where, name, data);
  return data;
}
