// Where the four wasm builds live, each written as the literal `new URL('./…', import.meta.url)`: the form
// Vite, webpack 5, Rollup and Parcel turn into an emitted asset (and rewrite to its final URL), and that
// esbuild leaves as written, so that there the files are found beside the bundle. Node, Deno and Bun read
// the same URLs from disk. Kept beside the builds so that the relative paths stay one level deep.
export function buildUrl(build) {
  switch (build) {
    case 'simd':
      return new URL('./wasmcnn-simd.wasm', import.meta.url);
    case 'simd-threads':
      return new URL('./wasmcnn-simd-threads.wasm', import.meta.url);
    case 'relaxed-simd':
      return new URL('./wasmcnn-relaxed-simd.wasm', import.meta.url);
    case 'relaxed-simd-threads':
      return new URL('./wasmcnn-relaxed-simd-threads.wasm', import.meta.url);
    default:
      throw new RangeError(`wasmcnn: no build named ${String(build)}`);
  }
}
