// The bad-input table: every public entry point, fed what a hostile or careless user would pass. Each case
// asserts three things: the error's class and a message naming the argument (or layer) and what was
// expected; the model's weights and the optimizer's state bitwise unchanged (hashed), nothing allocated or
// leaked; and the engine still trains afterwards. Run on the single-threaded and the threaded build.
import { describe, expect, it } from 'vitest';
import {
  checkpointFromJSON, checkpointToJSON, createSchedule, EarlyStopping, init, ops,
  type Checkpoint, type Engine, type LayerSpec, type ModelJSON, type Optimizer, type Sequential,
} from '../ts/src/index.js';
import { engine } from './helpers.js';

const LAYERS: LayerSpec[] = [
  { type: 'conv2d', filters: 2, kernelSize: 3 },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 3 },
];
const SPEC = { inputShape: [1, 6, 6], layers: LAYERS, seed: 3 };
const N = 6;
const X = Float32Array.from({ length: N * 36 }, (_, i) => ((i * 7) % 11) / 11 - 0.5);
const Y = [0, 1, 2, 1, 0, 2];

interface Ctx {
  e: Engine;
  other: Engine;
  m: Sequential;
  opt: Optimizer;
  json: ModelJSON;
  ck: Checkpoint;
}

/** FNV-1a over the bytes of every weight and every optimizer slot, plus the step count and rate. */
function hash(c: Ctx): string {
  let h = 0x811c9dc5;
  const eat = (a: Float32Array) => {
    const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  };
  for (const v of Object.values(c.m.getWeights())) eat(v);
  for (const v of Object.values(c.opt.state())) eat(v);
  return `${h.toString(16)}/${c.opt.steps}/${c.opt.lr}`;
}

type Ctor = typeof TypeError | typeof RangeError | typeof Error;
type Case = [what: string, run: (c: Ctx) => unknown, type: Ctor, message: RegExp];

const withWeights = (c: Ctx, w: Record<string, unknown>) => ({ ...c.json, weights: w });
const slotsWith = (c: Ctx, slot: string, i: number, v: number) => {
  const s = c.opt.saveState();
  const arr = Float32Array.from(s.slots[slot]);
  const out = { ...s, slots: { ...s.slots, [slot]: Array.from(arr, (x, j) => (j === i ? v : x)) } };
  return out as unknown as typeof s;
};
const bigDense = { inputShape: [65536], layers: [{ type: 'dense', units: 16384 }] };
const hugeConv = { inputShape: [1, 8, 8], layers: [{ type: 'conv2d', filters: 1e9, kernelSize: 1 }, { type: 'flatten' }, { type: 'dense', units: 2 }] };
const paddedConv = { inputShape: [1, 28, 28], layers: [{ type: 'conv2d', filters: 1, kernelSize: 5, padding: 8191 }, { type: 'maxPool2d', poolSize: 8192 }, { type: 'flatten' }, { type: 'dense', units: 2 }] };

const CASES: Case[] = [
  // ---- engine: sizes, buffers, factories ----
  ['alloc(-1)', (c) => c.e.alloc(-1), RangeError, /alloc: length must be in \[0, ∞\], got -1/],
  ['alloc(1.5)', (c) => c.e.alloc(1.5), TypeError, /alloc: length must be an integer, got 1.5/],
  ['alloc("3")', (c) => c.e.alloc('3' as never), TypeError, /alloc: length must be an integer, got "3"/],
  ['alloc(2**30) wraps to 0 bytes as i32', (c) => c.e.alloc(2 ** 30), RangeError, /alloc: the buffer: 1,073,741,824 floats \(4 GiB\), beyond the 2 GiB one buffer of this wasm32 build can hold/],
  ['alloc(2**31)', (c) => c.e.alloc(2 ** 31), RangeError, /alloc: the buffer: 2,147,483,648 floats \(8 GiB\), beyond the/],
  ['allocU32(2**30)', (c) => c.e.allocU32(2 ** 30), RangeError, /allocU32: the buffer: 1,073,741,824 floats/],
  ['alloc(2**53)', (c) => c.e.alloc(2 ** 53), RangeError, /alloc: length must be in \[0, ∞\]|alloc: the buffer: /],
  ['tensor(null)', (c) => c.e.tensor(null as never), TypeError, /tensor: data must be an array or typed array of numbers, got null/],
  ['tensor("abc")', (c) => c.e.tensor('abc' as never), TypeError, /tensor: data must be an array or typed array of numbers, got "abc"/],
  ['tensor with NaN', (c) => c.e.tensor([1, NaN]), RangeError, /tensor.write: src must be finite in float32, element 1 is NaN/],
  ['tensor with 1e39 (float32 overflow)', (c) => c.e.tensor([1, 1e39]), RangeError, /element 1 is 1e\+39 \(beyond float32's range: it would be stored as Infinity\)/],
  ['tensor from Float64Array 3.5e38', (c) => c.e.tensor(new Float64Array([3.5e38])), RangeError, /element 0 is 3\.5e\+38 \(beyond float32's range/],
  ['tensor with a string element', (c) => c.e.tensor([1, 'x' as never]), RangeError, /element 1 is "x"/],
  ["optimizer('adam', 2**30)", (c) => c.e.optimizer('adam', 2 ** 30), RangeError, /Adam state 'exp_avg': 1,073,741,824 floats|the buffer: 1,073,741,824/],
  ["optimizer('adam', -1)", (c) => c.e.optimizer('adam', -1), RangeError, /optimizer: size must be in \[0, ∞\], got -1/],
  ['optimizer(null, model)', (c) => c.e.optimizer(null as never, c.m), TypeError, /optimizer: expected a config like \{ type: 'adam' \} or a name, got null/],
  ["optimizer('adam', null)", (c) => c.e.optimizer('adam', null as never), TypeError, /expected a model, a layout \{ size, tensors \} or a size, got null/],
  ["optimizer({ type: 'adam', lr: 1e39 })", (c) => c.e.optimizer({ type: 'adam', lr: Infinity }, c.m), TypeError, /Adam: lr must be a finite number, got Infinity/],
  ['sequential(null)', (c) => c.e.sequential(null as never), TypeError, /Model: expected a model spec, got null/],
  ['dense 65536 → 16384 (1.07e9 parameters)', (c) => c.e.sequential(bigDense as never), RangeError, /'0' \(dense\): its parameters: 1,073,758,208 floats \(4 GiB\), beyond the 2 GiB one buffer of this wasm32 build can hold/],
  ['conv2d with 1e9 filters', (c) => c.e.sequential(hugeConv as never), RangeError, /'0' \(conv2d\): its parameters: 2,000,000,000 floats \(7.45 GiB\), beyond the/],
  ['sequential: unknown layer type', (c) => c.e.sequential({ ...SPEC, layers: [{ type: 'conv3d' }] } as never), TypeError, /'0' \(conv3d\): unknown layer type "conv3d"/],
  ['sequential: layers not an array', (c) => c.e.sequential({ ...SPEC, layers: 'conv' } as never), TypeError, /layers must be a non-empty array, got "conv"/],
  ['sequential: inputShape NaN', (c) => c.e.sequential({ ...SPEC, inputShape: [1, NaN, 6] } as never), TypeError, /inputShape\[1\] must be an integer, got NaN/],
  ['sequential: seed -1', (c) => c.e.sequential({ ...SPEC, seed: -1 }), RangeError, /Model: seed must be in \[0, 4294967295\], got -1/],
  ['sequential: unknown key', (c) => c.e.sequential({ ...SPEC, optimizer: 'adam' } as never), TypeError, /Model: unknown option 'optimizer'/],

  // ---- model JSON ----
  ['modelFromJSON(null)', (c) => c.e.modelFromJSON(null as never), TypeError, /Model.fromJSON: expected an object, got null/],
  ['modelFromJSON({})', (c) => c.e.modelFromJSON({} as never), TypeError, /format must be 'wasmcnn.model', got undefined/],
  ['modelFromJSON: version 3', (c) => c.e.modelFromJSON({ ...c.json, version: 3 } as never), RangeError, /unsupported version 3 \(this library reads 2\)/],
  ['modelFromJSON: weights null', (c) => c.e.modelFromJSON({ ...c.json, weights: null } as never), TypeError, /weights must be an object mapping parameter names to values, got null/],
  ['modelFromJSON: weights []', (c) => c.e.modelFromJSON({ ...c.json, weights: [] } as never), TypeError, /weights must be an object mapping parameter names to values, got \[\]/],
  ['modelFromJSON: a tensor missing', (c) => { const w = { ...c.json.weights! }; delete w['4.bias']; return c.e.modelFromJSON(withWeights(c, w) as never); }, RangeError, /missing parameters '4.bias'/],
  ['modelFromJSON: a tensor of the wrong length', (c) => c.e.modelFromJSON(withWeights(c, { ...c.json.weights, '4.bias': [1, 2] }) as never), RangeError, /'4.bias' has 2 values, expected 3 \(shape \[3\]\)/],
  ['modelFromJSON: NaN weight', (c) => c.e.modelFromJSON(withWeights(c, { ...c.json.weights, '4.bias': [0, NaN, 0] }) as never), RangeError, /'4.bias' must be finite in float32, element 1 is NaN/],
  ['modelFromJSON: 1e39 weight', (c) => c.e.modelFromJSON(withWeights(c, { ...c.json.weights, '4.bias': [0, 0, 1e39] }) as never), RangeError, /'4.bias' must be finite in float32, element 2 is 1e\+39/],
  ['modelFromJSON: weight values a string', (c) => c.e.modelFromJSON(withWeights(c, { ...c.json.weights, '4.bias': 'abc' }) as never), TypeError, /'4.bias' must be an array or Float32Array of 3 numbers, got "abc"/],
  ['modelFromJSON: unknown tensor', (c) => c.e.modelFromJSON(withWeights(c, { ...c.json.weights, '9.bias': [1] }) as never), TypeError, /unknown parameter '9.bias'/],

  // ---- buffers ----
  ['write(src, 1.5)', (c) => { const b = c.e.alloc(4, 'b'); try { b.write([1], 1.5); } finally { b.dispose(); } }, RangeError, /b.write: writing 1 values at offset 1.5 into a buffer of length 4/],
  ['write(null)', (c) => { const b = c.e.alloc(4, 'b'); try { b.write(null as never); } finally { b.dispose(); } }, TypeError, /b.write: src must be an array or typed array of numbers, got null/],
  ['write past the end', (c) => { const b = c.e.alloc(4, 'b'); try { b.write([1, 2, 3], 2); } finally { b.dispose(); } }, RangeError, /writing 3 values at offset 2 into a buffer of length 4/],
  ['write(-Infinity)', (c) => { const b = c.e.alloc(4, 'b'); try { b.write([-Infinity]); } finally { b.dispose(); } }, RangeError, /element 0 is -Infinity/],

  // ---- weights ----
  ['setWeights(null)', (c) => c.m.setWeights(null as never), TypeError, /setWeights: weights must be an object mapping parameter names to values, got null/],
  ['setWeights([])', (c) => c.m.setWeights([] as never), TypeError, /setWeights: weights must be an object/],
  ['setWeights(Float32Array)', (c) => c.m.setWeights(new Float32Array(3) as never), TypeError, /setWeights: weights must be an object/],
  ['setWeights: one tensor, strict', (c) => c.m.setWeights({ '4.bias': [1, 2, 3] }), RangeError, /setWeights: missing parameters '0.weight', '0.bias', '4.weight' \(pass \{ strict: false \}/],
  ['setWeights: Float64Array beyond float32', (c) => c.m.setWeights({ '4.bias': new Float64Array([1, 3.5e38, 0]) }, { strict: false }), RangeError, /'4.bias' must be finite in float32, element 1 is 3.5e\+38/],
  ['setWeights: null values', (c) => c.m.setWeights({ '4.bias': null } as never, { strict: false }), TypeError, /'4.bias' must be an array or Float32Array of 3 numbers, got null/],
  ['setWeights(w, null)', (c) => c.m.setWeights(c.m.getWeights(), null as never), TypeError, /setWeights: options must be an object, got null/],
  ["setWeights(w, { strict: 'yes' })", (c) => c.m.setWeights(c.m.getWeights(), { strict: 'yes' as never }), TypeError, /setWeights: strict must be a boolean, got "yes"/],

  // ---- fit ----
  ['fit(x) without labels', (c) => c.m.fit(X, undefined as never), TypeError, /fit: y \(the 6 class labels\) is required/],
  ['fit(x, y, null)', (c) => c.m.fit(X, Y, null as never), TypeError, /fit: options must be an object, got null/],
  ['fit: labels as a string', (c) => c.m.fit(X, 'abcdef' as never), TypeError, /fit: labels/],
  ['fit: label out of range', (c) => c.m.fit(X, [0, 1, 2, 3, 0, 0]), RangeError, /fit: label 3 is 3, expected an integer class in \[0, 2\]/],
  ['fit: label -1', (c) => c.m.fit(X, [0, 1, 2, -1, 0, 0]), RangeError, /fit: label 3 is -1/],
  ['fit: label 1.5', (c) => c.m.fit(X, [0, 1, 2, 1.5, 0, 0]), RangeError, /fit: label 3 is 1.5/],
  ['fit: x with 1e39 in a Float64Array disguise', (c) => c.m.fit(new Float64Array(X.length) as never, Y), TypeError, /fit: x must be a Float32Array, got Float64Array/],
  ['fit: empty x', (c) => c.m.fit(new Float32Array(0), []), RangeError, /fit: x has 0 values, expected a positive multiple of 36/],
  ['fit: epochs -1', (c) => c.m.fit(X, Y, { epochs: -1 }), RangeError, /fit: epochs must be in \[0, ∞\], got -1/],
  ['fit: batchSize 1.5', (c) => c.m.fit(X, Y, { batchSize: 1.5 }), TypeError, /fit: batchSize must be an integer, got 1.5/],
  ['fit: accumulate 0', (c) => c.m.fit(X, Y, { accumulate: 0 }), RangeError, /fit: accumulate must be in \[1, ∞\], got 0/],
  ['fit: clipNorm 0', (c) => c.m.fit(X, Y, { clipNorm: 0 }), RangeError, /fit: clipNorm must be in \(0, Infinity\], got 0/],
  ['fit: schedule gamma a function', (c) => c.m.fit(X, Y, { schedule: { type: 'step', stepSize: 1, gamma: (() => 0.5) as never } }), TypeError, /step schedule: gamma must be a finite number, got a function/],
  ['fit: validationData null', (c) => c.m.fit(X, Y, { validationData: null as never }), TypeError, /fit: validationData must be \{ x, y \}, got null/],
  ['fit: validationData without y', (c) => c.m.fit(X, Y, { validationData: { x: X } as never }), TypeError, /fit: validationData: y \(the 6 class labels\) is required/],
  ['fit: callbacks null', (c) => c.m.fit(X, Y, { callbacks: null as never }), TypeError, /fit: callbacks must be an object, got null/],
  ['fit: unknown callback', (c) => c.m.fit(X, Y, { callbacks: { onStepEnd: () => {} } as never }), TypeError, /fit: callbacks: unknown option 'onStepEnd'/],
  ['fit: checkpoint without save', (c) => c.m.fit(X, Y, { checkpoint: {} as never }), TypeError, /fit: checkpoint must be \{ every\?, save\(checkpoint\) \}/],
  ["fit: onNonFinite 'ignore'", (c) => c.m.fit(X, Y, { onNonFinite: 'ignore' as never }), TypeError, /fit: onNonFinite must be one of 'throw', 'skipStep', 'restore', got "ignore"/],
  ['fit: divergence factor 1', (c) => c.m.fit(X, Y, { divergence: { factor: 1 } }), RangeError, /fit: divergence.factor must be in \(1, Infinity\], got 1/],
  ['fit: a disposed optimizer', (c) => { const o = c.e.optimizer('adam', c.m); o.dispose(); return c.m.fit(X, Y, { optimizer: o }); }, TypeError, /fit: the optimizer was disposed/],
  ['fit: an optimizer for another size', (c) => { const o = c.e.optimizer('adam', 5); return c.m.fit(X, Y, { optimizer: o }).finally(() => o.dispose()); }, RangeError, /fit: the optimizer was built for 5 parameters/],

  // ---- resume: the whole checkpoint is checked before anything is restored ----
  ['resume: schedule state with lr −1', (c) => c.m.fit(X, Y, { epochs: 3, optimizer: c.opt, schedule: { type: 'step', stepSize: 1 }, resume: { ...c.ck, schedule: { ...c.ck.schedule!, lr: -1 } } }), RangeError, /step schedule: loadState: lr must be in \[0, Infinity\], got -1/],
  ['resume: corrupt bestWeights', (c) => c.m.fit(X, Y, { epochs: 3, optimizer: c.opt, schedule: { type: 'step', stepSize: 1 }, resume: { ...c.ck, bestWeights: { ...(c.ck.model.weights as unknown as Record<string, Float32Array>), '4.bias': Float32Array.from([NaN, 0, 0]) } } }), RangeError, /fit: resume: bestWeights: '4.bias' must be finite in float32, element 0 is NaN/],
  ['resume: bestWeights missing a tensor', (c) => c.m.fit(X, Y, { epochs: 3, optimizer: c.opt, schedule: { type: 'step', stepSize: 1 }, resume: { ...c.ck, bestWeights: { '4.bias': Float32Array.from([0, 0, 0]) } } }), RangeError, /fit: resume: bestWeights: missing parameters '0.weight'/],
  ['resume: weights missing a tensor', (c) => { const w = { ...c.ck.model.weights! }; delete w['0.bias']; return c.m.fit(X, Y, { epochs: 3, optimizer: c.opt, schedule: { type: 'step', stepSize: 1 }, resume: { ...c.ck, model: { ...c.ck.model, weights: w } } }); }, RangeError, /fit: resume: weights: missing parameters '0.bias'/],
  ['resume: optimizer slot NaN', (c) => c.m.fit(X, Y, { epochs: 3, optimizer: c.opt, schedule: { type: 'step', stepSize: 1 }, resume: { ...c.ck, optimizer: slotsWith(c, 'exp_avg', 2, NaN) } }), RangeError, /fit: resume: optimizer: slot 'exp_avg' must be finite in float32, element 2 is NaN/],
  ['resume: epoch beyond epochs', (c) => c.m.fit(X, Y, { epochs: 1, optimizer: c.opt, resume: { ...c.ck, epoch: 5 } }), RangeError, /the checkpoint is at epoch 5, beyond epochs 1/],
  ['resume: not a checkpoint', (c) => c.m.fit(X, Y, { resume: { format: 'x' } as never }), TypeError, /fit: resume: format must be 'wasmcnn.checkpoint'/],
  ['resume: another architecture', (c) => c.m.fit(X, Y, { resume: { ...c.ck, model: { ...c.ck.model, layers: LAYERS.slice(1) } } }), RangeError, /is not this model's architecture/],

  // ---- evaluate / predict / lossAndGradients ----
  ['evaluate(x) without labels', (c) => c.m.evaluate(X, undefined as never), TypeError, /evaluate: y \(the 6 class labels\) is required/],
  ['evaluate(x, y, null)', (c) => c.m.evaluate(X, Y, null as never), TypeError, /evaluate: options must be an object, got null/],
  ['evaluate: batchSize 0', (c) => c.m.evaluate(X, Y, { batchSize: 0 }), RangeError, /evaluate: batchSize must be in \[1, ∞\], got 0/],
  ['predict(x, null)', (c) => c.m.predict(X, null as never), TypeError, /predict: options must be an object, got null/],
  ['predict(null)', (c) => c.m.predict(null as never), TypeError, /predict: x must be a Float32Array, got null/],
  ["predict: logits 'yes'", (c) => c.m.predict(X, { logits: 'yes' as never }), TypeError, /predict: logits must be a boolean, got "yes"/],
  ['lossAndGradients(x) without labels', (c) => c.m.lossAndGradients(X, undefined as never), TypeError, /lossAndGradients: y \(the 6 class labels\) is required/],

  // ---- optimizers ----
  ['step(Float32Array, Float32Array)', (c) => c.opt.step(new Float32Array(c.opt.size) as never, new Float32Array(c.opt.size) as never), TypeError, /Adam.step: params must be an f32 buffer of this engine \(engine.alloc \/ engine.tensor\), got Float32Array/],
  ['step(u32 buffers)', (c) => { const b = c.e.allocU32(c.opt.size); try { return c.opt.step(b as never, b as never); } finally { b.dispose(); } }, TypeError, /Adam.step: params must be an f32 buffer of this engine/],
  ["step(another engine's buffers)", (c) => { const p = c.other.alloc(c.opt.size); const g = c.other.alloc(c.opt.size); try { return c.opt.step(p, g); } finally { p.dispose(); g.dispose(); } }, TypeError, /Adam.step: params belongs to another engine/],
  ['step(disposed buffer)', (c) => { const p = c.e.alloc(c.opt.size); const g = c.e.alloc(c.opt.size); p.dispose(); try { return c.opt.step(p, g); } finally { g.dispose(); } }, TypeError, /Adam.step: params was disposed/],
  ['step(p, p)', (c) => { const p = c.e.alloc(c.opt.size); try { return c.opt.step(p, p); } finally { p.dispose(); } }, TypeError, /Adam.step: params, grads and delta must be distinct buffers/],
  ['loadState(null)', (c) => c.opt.loadState(null as never), TypeError, /Adam.loadState: expected an OptimizerState object, got null/],
  ['loadState: NaN in exp_avg', (c) => c.opt.loadState(slotsWith(c, 'exp_avg', 0, NaN)), RangeError, /Adam.loadState: slot 'exp_avg' must be finite in float32, element 0 is NaN/],
  ['loadState: −1 in exp_avg_sq', (c) => c.opt.loadState(slotsWith(c, 'exp_avg_sq', 3, -1)), RangeError, /Adam.loadState: slot 'exp_avg_sq' holds squares and must be ≥ 0, element 3 is -1/],
  ['loadState: 1e39 in exp_avg_sq', (c) => c.opt.loadState(slotsWith(c, 'exp_avg_sq', 1, 1e39)), RangeError, /slot 'exp_avg_sq' must be finite in float32, element 1 is 1e\+39/],
  ['loadState: steps −1', (c) => c.opt.loadState({ ...c.opt.saveState(), steps: -1 }), RangeError, /Adam.loadState: steps must be in \[0, ∞\], got -1/],
  ['loadState: another type', (c) => c.opt.loadState({ ...c.opt.saveState(), type: 'sgd' }), TypeError, /the state is of a 'sgd' optimizer, this one is 'adam'/],
  ['loadState: other tensors', (c) => c.opt.loadState({ ...c.opt.saveState(), tensors: [{ name: 'w', shape: [3] }] }), RangeError, /the state was saved for other parameter tensors/],
  ['lr = −1', (c) => { c.opt.lr = -1; }, RangeError, /Adam: lr must be in \[0, Infinity\], got -1/],
  ['lr = NaN', (c) => { c.opt.lr = NaN; }, TypeError, /Adam: lr must be a finite number, got NaN/],

  // ---- checkpoints, schedules, early stopping ----
  ['checkpointFromJSON(truncated)', (c) => checkpointFromJSON(checkpointToJSON(c.ck).slice(0, 100)), TypeError, /checkpointFromJSON: the text is not valid JSON \(truncated or corrupt\?\)/],
  ['checkpointFromJSON(123)', () => checkpointFromJSON(123 as never), TypeError, /checkpointFromJSON: expected the JSON text of a checkpoint, got 123/],
  ['checkpointFromJSON(another format)', () => checkpointFromJSON('{"format":"x"}'), TypeError, /checkpointFromJSON: format must be 'wasmcnn.checkpoint', got "x"/],
  ['checkpointFromJSON: schedule an array', (c) => checkpointFromJSON(JSON.stringify({ ...JSON.parse(checkpointToJSON(c.ck)), schedule: [1] })), TypeError, /checkpointFromJSON: schedule must be an object when present, got \[1\]/],
  ['createSchedule: unknown type', () => createSchedule({ type: 'warm' } as never, 0.1), TypeError, /unknown schedule type "warm"|schedule.*"warm"/],
  ['createSchedule: stepSize 0', () => createSchedule({ type: 'step', stepSize: 0 }, 0.1), RangeError, /step schedule: stepSize must be in \[1, ∞\], got 0/],
  ["EarlyStopping: monitor 'acc'", () => new EarlyStopping({ monitor: 'acc' as never }), TypeError, /earlyStopping: monitor must be one of/],

  // ---- the functional API ----
  ['ops.relu(e, null)', (c) => ops.relu(c.e, null as never), TypeError, /relu: x must be a Float32Array, got null/],
  ['ops.dense(e, null)', (c) => ops.dense(c.e, null as never), TypeError, /dense: expected an arguments object \{ x, xShape, weight, weightShape, … \}, got null/],
  ['ops.softmaxCrossEntropy(e, null)', (c) => ops.softmaxCrossEntropy(c.e, null as never), TypeError, /softmaxCrossEntropy: expected an arguments object/],
  ['ops.conv2d: padding 16384 on a 1×1 input', (c) => ops.conv2d(c.e, { x: new Float32Array(1), xShape: [1, 1, 1, 1], weight: new Float32Array(1), weightShape: [1, 1, 1, 1], padding: 16384 }), RangeError, /conv2d: the output \[1, 1, 32769, 32769\]: 1,073,807,361 floats \(4 GiB\), beyond the 2 GiB/],
  ['ops.dense: 65536 × 32768 weight', (c) => ops.dense(c.e, { x: new Float32Array(65536), xShape: [1, 65536], weight: new Float32Array(1), weightShape: [32768, 65536] }), RangeError, /dense.*(2,147,483,648|8 GiB|weight)/],
];

describe.each([
  { label: 'simd (1 thread)', opts: { threads: 1, relaxedSimd: false } },
  { label: 'threaded (2 threads)', opts: { threads: 2, relaxedSimd: false } },
])('bad input on the $label build: a named error, state bitwise unchanged, still trains', ({ opts }) => {
  const ctx = (async (): Promise<Ctx> => {
    const e = await engine(opts);
    const other = await init(opts);
    const m = e.sequential(SPEC);
    const opt = e.optimizer('adam', m);
    let ck: Checkpoint | undefined;
    await m.fit(X, Y, { epochs: 1, batchSize: 2, optimizer: opt, schedule: { type: 'step', stepSize: 1 }, checkpoint: { save: (k) => void (ck = k) } });
    return { e, other, m, opt, json: m.toJSON(), ck: ck! };
  })();

  for (const [what, run, type, message] of CASES) {
    it(what, async () => {
      const c = await ctx;
      const before = hash(c);
      const live = c.e.liveBytes();
      let thrown: unknown;
      try {
        await run(c);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, `${what} did not throw`).toBeInstanceOf(type);
      expect((thrown as Error).constructor).toBe(type);
      expect((thrown as Error).message).toMatch(message);
      expect(hash(c)).toBe(before);
      expect(c.e.liveBytes()).toBe(live);
      // Still trains: one step moves the weights and the optimizer's step count.
      const steps = c.opt.steps;
      await c.m.fit(X.subarray(0, 72), Y.slice(0, 2), { epochs: 1, batchSize: 2, optimizer: c.opt });
      expect(c.opt.steps).toBe(steps + 1);
      expect(hash(c)).not.toBe(before);
    });
  }
});

export const BAD_INPUT_CASES = CASES.length;
