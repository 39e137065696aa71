// A strict TypeScript consumer of the installed package (test/package.test.ts compiles it under three
// tsconfigs with skipLibCheck off): the public types must compile without DOM or esnext libs, and the
// options a runtime-dependent lib declares must keep real types (never `any`).
import { init, spawn, type Engine, type InitOptions, type RemoteEngine } from 'wasmcnn';

type IsAny<T> = 0 extends 1 & T ? true : false;
export const moduleIsAny: IsAny<InitOptions['module']> = false;
export const wasmIsAny: IsAny<InitOptions['wasm']> = false;

// @ts-expect-error: a number is not a wasm source
export const bad = (): Promise<Engine> => init({ wasm: 42 });

export async function train(): Promise<number> {
  const engine: Engine = await init({ threads: 1, relaxedSimd: false });
  const model = engine.sequential({ inputShape: [1, 4, 4], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3 }, { type: 'flatten' }, { type: 'dense', units: 2 }], seed: 1 });
  const history = await model.fit(new Float32Array(2 * 16), [0, 1], { epochs: 1, optimizer: { type: 'adam', lr: 1e-3 } });
  model.dispose();
  await engine.terminate();
  const remote: RemoteEngine = await spawn({ where: 'local' });
  await remote.terminate();
  return history.epochs[0].loss;
}
