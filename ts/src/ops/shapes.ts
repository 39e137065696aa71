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

/** Checks that `data` is a Float32Array of the shape's size (any size for null) with finite values. */
export function checkData(where: string, name: string, data: unknown, shape: readonly number[] | null): Float32Array {
  if (!(data instanceof Float32Array)) {
    throw new TypeError(`${where}: ${name} must be a Float32Array, got ${describe(data)}`);
  }
  if (shape !== null) checkLength(where, name, data, size(shape));
  checkFinite(where, name, data);
  return data;
}

/** Checks that an ops function's arguments are an object (before any field is read). */
export function checkArgs<A extends object>(where: string, a: A, fields: string): A {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new TypeError(`${where}: expected an arguments object { ${fields} }, got ${describe(a)}`);
  return a;
}
