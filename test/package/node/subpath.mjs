// The wasm builds as subpath exports (test/package.test.ts): resolved by name, passed to init().
import { init } from 'wasmcnn';

const url = new URL(import.meta.resolve('wasmcnn/wasm/wasmcnn-simd.wasm'));
const engine = await init({ wasm: url, threads: 1 });
console.log(JSON.stringify({ path: url.pathname, info: engine.info() }));
