/** The URL of a shipped wasm build (a file: URL in Node, Deno and Bun; the bundler's asset URL in a bundle). */
export function buildUrl(build: 'simd' | 'simd-threads' | 'relaxed-simd' | 'relaxed-simd-threads'): URL;
