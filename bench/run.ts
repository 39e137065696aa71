// npm run bench: wasmcnn against the anchors, measured in the same run, printed as a table with ratios and
// written to bench/results.json (rows kept stable from issue to issue: name, impl, threads, build, unit, value).
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { init } from '../ts/src/index.js';
import { loadMnist } from '../examples/mnist-data.js';
import { convnetjsLenetTrain } from './anchors/convnetjs.js';
import { tfjsLenetTrain } from './anchors/tfjs.js';
import { wasmcnnCifarTrain } from './cifar.js';
import { tfjsWasmKernels, wasmcnnKernels } from './kernels.js';
import { wasmcnnLenetTrain } from './lenet.js';

// tfjs's PROD flag only silences its console banner; it changes no computation.
tf.enableProdMode();

export interface Row {
  name: string;
  impl: string;
  threads: number;
  build: string;
  unit: string;
  value: number;
}

const quick = process.argv.includes('--quick');
const BATCH = 64;
const mnist = loadMnist(1, 8000, 2000);
const data = { images: mnist.trainImages, labels: mnist.trainLabels };
const engine = await init({ threads: 1 });
const info = engine.info();
const rows: Row[] = [];
const cores = os.availableParallelism();

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.arch()}`;
console.log(`machine: ${machine}\nnode ${process.version}, wasmcnn build ${info.build} (${info.threads} thread)\n`);
console.log('LeNet-MNIST training, batch 64, Adam (lr 1e-3), samples/s — all measured now, in this run:');

// This VM's speed drifts by ±20% over seconds. Each wasmcnn configuration runs REPS times, the thread counts
// interleaved within each repetition; rows report the median, speed-ups the median of the per-repetition
// ratios (a pair of runs seconds apart sees the same machine). The anchors run once: they are slow.
const REPS = quick ? 1 : 5;
const threadCounts = [...new Set([2, cores])].filter((t) => t > 1);
const engines = new Map([[1, engine]]);
for (const t of threadCounts) engines.set(t, await init({ threads: t }));
const lenetRuns = new Map<number, number[]>();
const cifarRuns = new Map<number, number[]>();
const LENET_SAMPLES = quick ? 4000 : 8000;
for (let rep = 0; rep < REPS; rep++) {
  for (const [t, e] of engines) {
    const l = await wasmcnnLenetTrain(e, data, { batchSize: BATCH, samples: LENET_SAMPLES });
    lenetRuns.set(t, [...(lenetRuns.get(t) ?? []), l.samplesPerSec]);
    const c = await wasmcnnCifarTrain(e, { batchSize: BATCH, samples: quick ? 256 : 512 });
    cifarRuns.set(t, [...(cifarRuns.get(t) ?? []), c.samplesPerSec]);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const speedup = (runs: Map<number, number[]>, t: number) => median(runs.get(t)!.map((v, i) => v / runs.get(1)![i]));
for (const [t, e] of engines) {
  const build = e.info().build;
  rows.push({ name: 'lenet-mnist-train', impl: 'wasmcnn', threads: t, build, unit: 'samples/s', value: median(lenetRuns.get(t)!) });
  rows.push({ name: 'cifar-small-train', impl: 'wasmcnn', threads: t, build, unit: 'samples/s', value: median(cifarRuns.get(t)!) });
  if (t > 1) await e.terminate();
}
const wasm = { impl: 'wasmcnn', samples: LENET_SAMPLES, samplesPerSec: median(lenetRuns.get(1)!) };
const cnj = convnetjsLenetTrain(data, { batchSize: BATCH, samples: quick ? 320 : 1280 });
rows.push({ name: 'lenet-mnist-train', impl: 'convnetjs', threads: 1, build: 'js', unit: 'samples/s', value: cnj.samplesPerSec });
const tfc = await tfjsLenetTrain(data, { batchSize: BATCH, samples: quick ? 64 : 192, backend: 'cpu' });
rows.push({ name: 'lenet-mnist-train', impl: 'tfjs-cpu', threads: 1, build: 'js', unit: 'samples/s', value: tfc.samplesPerSec });

const pad = (s: string, n: number) => s.padEnd(n);
console.log(`\n${pad('impl', 12)}${pad('samples/s', 12)}${pad('samples timed', 15)}wasmcnn is   (wasmcnn: median of ${REPS} runs)`);
for (const r of [wasm, cnj, tfc]) {
  const ratio = r.impl === 'wasmcnn' ? '—' : `${(wasm.samplesPerSec / r.samplesPerSec).toFixed(1)}× faster`;
  console.log(`${pad(r.impl, 12)}${pad(r.samplesPerSec.toFixed(1), 12)}${pad(String(r.samples), 15)}${ratio}`);
}
console.log(`\nratio wasmcnn / convnetjs = ${(wasm.samplesPerSec / cnj.samplesPerSec).toFixed(1)}× (target ≥ 10× single-threaded)`);
console.log(`ratio wasmcnn / tfjs-cpu  = ${(wasm.samplesPerSec / tfc.samplesPerSec).toFixed(1)}×`);
console.log('notes: ConvNetJS 0.3.0 on npm has no Adam; its anchor runs ConvNetJS forward/backward with an Adam step');
console.log('       applied every 64 samples (bench/anchors/convnetjs.ts). tfjs-backend-wasm cannot train a conv layer');
console.log('       (no Conv2DBackpropFilter), so it has no row here.');

console.log(`\nThreads (simd-threads build vs the single-threaded simd build; median of ${REPS} interleaved runs):`);
console.log(`${pad('model', 20)}${pad('threads', 9)}${pad('samples/s', 12)}speed-up (median of paired ratios)`);
for (const [name, runs, target] of [['lenet-mnist-train', lenetRuns, 1.4], ['cifar-small-train', cifarRuns, 1.7]] as const) {
  for (const [t, v] of runs) {
    const up = t === 1 ? '—' : `${speedup(runs, t).toFixed(2)}×${t === 2 ? ` (target ≥ ${target}×)` : ''}  [pairs: ${v.map((x, i) => (x / runs.get(1)![i]).toFixed(2)).join(', ')}]`;
    console.log(`${pad(name, 20)}${pad(String(t), 9)}${pad(median(v).toFixed(1), 12)}${up}`);
  }
}

// ---- kernels (issue #4's section): wasmcnn 1 and 2 threads against tfjs-backend-wasm (XNNPACK) ----
const KREPS = quick ? 2 : 5;
const kernelRows = [...wasmcnnKernels(engine, KREPS)];
for (const t of threadCounts) {
  const e = await init({ threads: t });
  kernelRows.push(...wasmcnnKernels(e, KREPS));
  await e.terminate();
}
kernelRows.push(...(await tfjsWasmKernels(1, KREPS)));
rows.push(...kernelRows);
const k = (name: string, impl: string, threads: number) => kernelRows.find((r) => r.name === name && r.impl === impl && r.threads === threads)?.value ?? NaN;
const lines = [
  `| kernel | wasmcnn 1 thread | wasmcnn ${threadCounts[0] ?? 2} threads | tfjs-wasm 1 thread | wasmcnn / tfjs-wasm (1 thread) |`,
  '|---|---:|---:|---:|---:|',
];
for (const [name, unit] of [['sgemm-1024', 'GFLOPS'], ['conv3x3-fwd', 'GFLOPS'], ['conv3x3-bwd', 'GFLOPS'], ['adam-step-10M', 'GB/s'], ['memcpy-10M', 'GB/s']]) {
  const [a, b, c] = [k(name, 'wasmcnn', 1), k(name, 'wasmcnn', threadCounts[0] ?? 2), k(name, 'tfjs-wasm', 1)];
  const f = (v: number) => (Number.isNaN(v) ? '—' : `${v.toFixed(1)} ${unit}`);
  lines.push(`| ${name} | ${f(a)} | ${f(b)} | ${f(c)} | ${Number.isNaN(c) ? (name === 'conv3x3-bwd' ? 'no anchor can train it' : '—') : `${(a / c).toFixed(2)}×`} |`);
}
console.log('\nKernels (best of ' + KREPS + '; conv: batch 64, 32→64 channels, 32×32, 3×3 same):');
console.log(lines.join('\n'));
console.log(`Adam step: ${(k('adam-step-10M', 'wasmcnn', 1) / k('memcpy-10M', 'wasmcnn', 1) * 100).toFixed(0)}% of memory.copy bandwidth (1 thread)`);
writeFileSync(new URL('./RESULTS.md', import.meta.url), `# Benchmark results\n\nMachine: ${machine}; Node ${process.version}.\n\n${lines.join('\n')}\n`);

const out = new URL('./results.json', import.meta.url);
writeFileSync(out, JSON.stringify({ machine, node: process.version, rows }, null, 2) + '\n');
console.log(`\nwrote ${out.pathname}`);
