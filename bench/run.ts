// npm run bench: wasmcnn against the anchors, measured in the same run, printed as a table with ratios and
// written to bench/results.json (rows kept stable from issue to issue: name, impl, threads, build, unit, value).
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { init } from '../ts/src/index.js';
import { hasRelaxedSimd } from '../ts/src/runtime/features.js';
import { loadMnist } from '../examples/mnist-data.js';
import { convnetjsLenetTrain } from './anchors/convnetjs.js';
import { tfjsLenetTrain } from './anchors/tfjs.js';
import { CIFAR_TRAIN_FLOPS, wasmcnnCifarTrain } from './cifar.js';
import { tfjsWasmKernels, wasmcnnKernels } from './kernels.js';
import { OPTIMIZER_BENCH, optimizerSteps } from './optimizers.js';
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
  /** Optimizer-step rows: which optimizer. */
  optimizer?: string;
}

const quick = process.argv.includes('--quick');
const BATCH = 64;
const mnist = loadMnist(1, 8000, 2000);
const data = { images: mnist.trainImages, labels: mnist.trainLabels };
// Node 20 runs with --experimental-wasm-relaxed-simd (npm run bench), so every build can be measured; each
// engine names its build explicitly.
const engine = await init({ threads: 1, relaxedSimd: false });
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
for (const t of threadCounts) engines.set(t, await init({ threads: t, relaxedSimd: false }));
// The fastest configuration here: relaxed SIMD on every core (issue #4's LeNet target is on 2 threads).
const RELAXED_KEY = -(threadCounts[0] ?? 2);
if (hasRelaxedSimd()) engines.set(RELAXED_KEY, await init({ threads: threadCounts[0] ?? 2, relaxedSimd: true }));
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
for (const [key, e] of engines) {
  const { build, threads } = e.info();
  rows.push({ name: 'lenet-mnist-train', impl: 'wasmcnn', threads, build, unit: 'samples/s', value: median(lenetRuns.get(key)!) });
  rows.push({ name: 'cifar-small-train', impl: 'wasmcnn', threads, build, unit: 'samples/s', value: median(cifarRuns.get(key)!) });
  if (key !== 1) await e.terminate();
}
const relaxedLenet = lenetRuns.has(RELAXED_KEY) ? median(lenetRuns.get(RELAXED_KEY)!) : NaN;
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
const two = lenetRuns.has(2) ? median(lenetRuns.get(2)!) : NaN;
console.log(`ratio wasmcnn 2 threads / convnetjs = ${(two / cnj.samplesPerSec).toFixed(1)}× (simd-threads), ${(relaxedLenet / cnj.samplesPerSec).toFixed(1)}× (relaxed-simd-threads: ${relaxedLenet.toFixed(1)} samples/s)   (issue #4 target ≥ 25×)`);
console.log('notes: ConvNetJS 0.3.0 on npm has no Adam; its anchor runs ConvNetJS forward/backward with an Adam step');
console.log('       applied every 64 samples (bench/anchors/convnetjs.ts). tfjs-backend-wasm cannot train a conv layer');
console.log('       (no Conv2DBackpropFilter), so it has no row here.');

console.log(`\nThreads (simd-threads build vs the single-threaded simd build; median of ${REPS} interleaved runs):`);
console.log(`${pad('model', 20)}${pad('threads', 9)}${pad('samples/s', 12)}speed-up (median of paired ratios)`);
for (const [name, runs, target] of [['lenet-mnist-train', lenetRuns, 1.4], ['cifar-small-train', cifarRuns, 1.7]] as const) {
  for (const [key, v] of runs) {
    const t = Math.abs(key);
    const label = key < 0 ? `${t} relaxed` : String(t);
    const up = key === 1 ? '—' : `${speedup(runs, key).toFixed(2)}×${key === 2 ? ` (target ≥ ${target}×)` : ''}  [pairs: ${v.map((x, i) => (x / runs.get(1)![i]).toFixed(2)).join(', ')}]`;
    console.log(`${pad(name, 20)}${pad(label, 11)}${pad(median(v).toFixed(1), 12)}${up}`);
  }
}

// ---- kernels (issue #4's section): every build against tfjs-backend-wasm (XNNPACK), interleaved ----
// Each round measures every configuration once; a row keeps its best round (the least disturbed one).
const KREPS = quick ? 2 : 5;
const T2 = threadCounts[0] ?? 2;
const kernelEngines = [engine, await init({ threads: T2, relaxedSimd: false })];
if (hasRelaxedSimd()) kernelEngines.push(await init({ threads: 1, relaxedSimd: true }), await init({ threads: T2, relaxedSimd: true }));
const bestRows = new Map<string, Row>();
// Every round's value too: the thread speed-ups are also given as the median of per-round ratios (the two
// runs of a round are seconds apart and see the same machine; best/best can pair a lucky 1-thread round).
const roundValues = new Map<string, number[]>();
const keep = (r: Row) => {
  const key = `${r.name}|${r.impl}|${r.build}|${r.threads}`;
  if (!(r.value <= (bestRows.get(key)?.value ?? -1))) bestRows.set(key, r);
  roundValues.set(`${r.name}|${r.build}`, [...(roundValues.get(`${r.name}|${r.build}`) ?? []), r.value]);
};
// Within a round, each kernel's best of 3 calls (a single call too often lands in one of this VM's slow
// spells; the same for every configuration and the anchor).
const KCALLS = quick ? 1 : 3;
for (let round = 0; round < KREPS; round++) {
  for (const e of kernelEngines) wasmcnnKernels(e, KCALLS).forEach(keep);
  (await tfjsWasmKernels(1, KCALLS)).forEach(keep);
}
// ---- optimizer steps (issue #5): every optimizer at 10M parameters, 1 and T2 threads, interleaved ----
const optBest = new Map<string, Row>();
for (let round = 0; round < (quick ? 1 : 3); round++) {
  for (const e of kernelEngines.slice(0, 2)) {
    for (const r of optimizerSteps(e)) {
      const key = `${r.optimizer}|${r.threads}`;
      if (!(r.value <= (optBest.get(key)?.value ?? -1))) optBest.set(key, r);
    }
  }
}
const optRows = [...optBest.values()];
for (const e of kernelEngines.slice(1)) await e.terminate();
rows.push(...optRows);
const optVal = (label: string, threads: number) => optRows.find((r) => r.optimizer === label && r.threads === threads)?.value ?? NaN;
const optLines = [
  `| optimizer (10M parameters) | simd, 1 thread | simd-threads, ${T2} threads | speed-up |`,
  '|---|---:|---:|---:|',
  ...OPTIMIZER_BENCH.map(({ label }) => {
    const [a, b] = [optVal(label, 1), optVal(label, T2)];
    return `| ${label} | ${a.toFixed(0)} Mparam/s (${(1e4 / a).toFixed(1)} ms) | ${b.toFixed(0)} Mparam/s (${(1e4 / b).toFixed(1)} ms) | ${(b / a).toFixed(2)}× |`;
  }),
];
const kernelRows = [...bestRows.values()];
rows.push(...kernelRows);
const k = (name: string, build: string) => kernelRows.find((r) => r.name === name && r.build === build)?.value ?? NaN;
const cols = ['simd', 'simd-threads', 'relaxed-simd', 'relaxed-simd-threads', 'xnnpack-simd'];
const lines = [
  `| kernel | wasmcnn simd, 1 thread | wasmcnn simd-threads, ${T2} threads | wasmcnn relaxed-simd, 1 thread | wasmcnn relaxed-simd-threads, ${T2} threads | tfjs-wasm (XNNPACK), 1 thread |`,
  '|---|---:|---:|---:|---:|---:|',
];
for (const [name, unit] of [['sgemm-1024', 'GFLOPS'], ['conv3x3-fwd', 'GFLOPS'], ['conv3x3-bwd', 'GFLOPS'], ['adam-step-10M', 'GB/s'], ['memcpy-10M', 'GB/s']]) {
  const f = (v: number) => (Number.isNaN(v) ? (name === 'conv3x3-bwd' ? 'cannot train' : '—') : `${v.toFixed(1)} ${unit}`);
  lines.push(`| ${name} | ${cols.map((c) => f(k(name, c))).join(' | ')} |`);
}
const pairedRatio = (name: string) => {
  const [one, two] = [roundValues.get(`${name}|simd`) ?? [], roundValues.get(`${name}|simd-threads`) ?? []];
  return one.length && one.length === two.length ? median(two.map((v, i) => v / one[i])) : NaN;
};
const ratio = (what: string, v: number, target: string) => `| ${what} | ${v.toFixed(2)}× | ${target} |`;
const ratios = [
  '| ratio (same run) | measured | target |',
  '|---|---:|---:|',
  ratio('sgemm-1024: simd 1 thread / tfjs-wasm', k('sgemm-1024', 'simd') / k('sgemm-1024', 'xnnpack-simd'), '≥ 1.0×'),
  ratio('conv3x3-fwd: simd 1 thread / tfjs-wasm', k('conv3x3-fwd', 'simd') / k('conv3x3-fwd', 'xnnpack-simd'), '≥ 1.0×'),
  ratio(`sgemm-1024: ${T2} threads / 1 thread`, k('sgemm-1024', 'simd-threads') / k('sgemm-1024', 'simd'), '≥ 1.8×'),
  ratio(`conv3x3-fwd: ${T2} threads / 1 thread`, k('conv3x3-fwd', 'simd-threads') / k('conv3x3-fwd', 'simd'), '≥ 1.8×'),
  ratio(`sgemm-1024: ${T2} threads / 1 thread, median of per-round ratios`, pairedRatio('sgemm-1024'), '≥ 1.8×'),
  ratio(`conv3x3-fwd: ${T2} threads / 1 thread, median of per-round ratios`, pairedRatio('conv3x3-fwd'), '≥ 1.8×'),
  ratio('sgemm-1024: relaxed / simd, 1 thread', k('sgemm-1024', 'relaxed-simd') / k('sgemm-1024', 'simd'), '≥ 1.3×'),
  ratio('conv3x3: backward / forward, simd 1 thread', k('conv3x3-bwd', 'simd') / k('conv3x3-fwd', 'simd'), '≥ 0.8×'),
  ratio('adam-step-10M / memcpy-10M, simd 1 thread', k('adam-step-10M', 'simd') / k('memcpy-10M', 'simd'), '≥ 0.5×'),
];
// CIFAR-sized training against the machine's GEMM peak on the same build: useful FLOPs per sample (forward,
// plus input and weight gradients) × samples/s ÷ sgemm-1024 GFLOPS.
const cifarRow = (build: string) => rows.find((r) => r.name === 'cifar-small-train' && r.build === build)?.value ?? NaN;
for (const build of ['simd', 'simd-threads', 'relaxed-simd-threads']) {
  const gflops = (cifarRow(build) * CIFAR_TRAIN_FLOPS) / 1e9;
  if (!Number.isNaN(gflops)) ratios.push(`| cifar-small-train on ${build}: ${gflops.toFixed(1)} GFLOPS of the sgemm-1024 peak | ${(gflops / k('sgemm-1024', build)).toFixed(2)}× | report |`);
}
console.log(`\nKernels (best of ${KREPS} interleaved rounds of ${KCALLS} calls; conv: batch 64, 32→64 channels, 32×32, 3×3 same):`);
console.log(lines.join('\n'));
console.log(`\n${ratios.join('\n')}`);
console.log(`\nOptimizer steps (best of ${quick ? 1 : 3} interleaved rounds):`);
console.log(optLines.join('\n'));
writeFileSync(
  new URL('./RESULTS.md', import.meta.url),
  `# Benchmark results\n\nMachine: ${machine}; Node ${process.version} (with --experimental-wasm-relaxed-simd).\n\nKernel rows: the best of ${KREPS} interleaved rounds, each the best of ${KCALLS} calls (conv: batch 64, 32→64 channels, 32×32, 3×3 same).\n\n${lines.join('\n')}\n\n${ratios.join('\n')}\n\n## Optimizer steps\n\n${optLines.join('\n')}\n`,
);

const out = new URL('./results.json', import.meta.url);
writeFileSync(out, JSON.stringify({ machine, node: process.version, rows }, null, 2) + '\n');
console.log(`\nwrote ${out.pathname}`);
