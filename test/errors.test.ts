// Bad input gets a clear error naming what was wrong, raised before any state changes; disposed handles refuse use.
import { describe, expect, it } from 'vitest';
import { ops, type LayerSpec } from '../ts/src/index.js';
import { engine } from './helpers.js';

const SMALL: LayerSpec[] = [
  { type: 'conv2d', filters: 2, kernelSize: 3 },
  { type: 'relu' },
  { type: 'flatten' },
  { type: 'dense', units: 3 },
];
const spec = { inputShape: [1, 5, 5], layers: SMALL, seed: 1 };
const x = new Float32Array(4 * 25).map((_, i) => (i % 7) / 7);
const y = [0, 1, 2, 1];

describe('model definition errors name the layer and the problem', () => {
  const cases: [string, unknown, RegExp, typeof TypeError | typeof RangeError][] = [
    ['unknown layer type', { ...spec, layers: [{ type: 'conv3d' }] }, /'0' \(conv3d\): unknown layer type "conv3d" \(known: conv2d, convTranspose2d, dense, /, TypeError],
    ['unknown option', { ...spec, layers: [{ type: 'conv2d', filter: 2, kernelSize: 3 }] }, /'0' \(conv2d\): unknown option 'filter'/, TypeError],
    ['kernel too big', { ...spec, layers: [{ type: 'conv2d', filters: 2, kernelSize: 7 }] }, /'0' \(conv2d\): window 7×7 .* does not fit input 1×5×5/, RangeError],
    ['filters not an integer', { ...spec, layers: [{ type: 'conv2d', filters: 1.5, kernelSize: 3 }] }, /'0' \(conv2d\): filters must be an integer, got 1.5/, TypeError],
    ["'same' with stride 2", { ...spec, layers: [{ type: 'conv2d', filters: 2, kernelSize: 3, stride: 2, padding: 'same' }] }, /padding 'same' needs stride 1/, RangeError],
    ['dense on an image', { ...spec, layers: [{ type: 'dense', units: 3 }] }, /'0' \(dense\): expects a flat input, got \[1, 5, 5\]; add \{ type: 'flatten' \}/, RangeError],
    ['residual branches that cannot add', { ...spec, layers: [{ type: 'residual', name: 'block', main: [{ type: 'conv2d', filters: 2, kernelSize: 3 }], shortcut: [{ type: 'conv2d', filters: 2, kernelSize: 1 }] }] }, /'block.downsample': output \[2, 5, 5\] cannot add to main branch \[2, 3, 3\]/, RangeError],
    ['duplicate names', { ...spec, layers: [{ type: 'relu', name: 'a' }, { type: 'relu', name: 'a' }] }, /'a': duplicate name 'a' in 'the model'/, RangeError],
    ['unknown init', { ...spec, init: 'xavier' }, /unknown init "xavier"/, TypeError],
    ['bad input shape', { ...spec, inputShape: [1, 0, 5] }, /inputShape\[1\] must be in \[1, ∞\], got 0/, RangeError],
  ];
  for (const [what, s, msg, type] of cases) {
    it(what, async () => {
      const e = await engine();
      const live = e.liveBytes();
      expect(() => e.sequential(s as never)).toThrow(type);
      expect(() => e.sequential(s as never)).toThrow(msg);
      expect(e.liveBytes()).toBe(live); // nothing allocated, nothing leaked
    });
  }
});

describe('fit / evaluate / predict reject bad data before touching the model', () => {
  const bad: [string, (m: { fit: Function }) => Promise<unknown>, RegExp][] = [
    ['x length not a multiple of the sample', (m) => m.fit(x.subarray(0, 99), y), /fit: x has 99 values, expected a positive multiple of 25/],
    ['x not Float32Array', (m) => m.fit(Array.from(x), y), /fit: x must be a Float32Array, got Array\(100\)/],
    ['non-finite input', (m) => m.fit(x.map((v, i) => (i === 30 ? NaN : v)), y), /fit: x must be finite in float32, element 30 is NaN/],
    ['label out of range', (m) => m.fit(x, [0, 1, 3, 1]), /fit: label 2 is 3, expected an integer class in \[0, 2\]/],
    ['label count', (m) => m.fit(x, [0, 1]), /fit: labels has length 2, expected 4/],
    ['batch size 0', (m) => m.fit(x, y, { batchSize: 0 }), /fit: batchSize must be in \[1, ∞\], got 0/],
    ['unknown fit option', (m) => m.fit(x, y, { epoch: 2 }), /fit: unknown option 'epoch'/],
    ['unknown optimizer', (m) => m.fit(x, y, { optimizer: { type: 'nadamw' } }), /optimizer: unknown type "nadamw" \(known: sgd, adagrad, rmsprop, adadelta, adam, adamw, adamax, adafactor, radam, nadam, adabelief, lion, lamb, lars, swats, prodigy, dadapt_adam, dadapt_sgd, dadapt_adagrad, schedulefree_adamw, schedulefree_sgd, lookahead\)/],
    ['negative learning rate', (m) => m.fit(x, y, { optimizer: { type: 'adam', lr: -1 } }), /Adam: lr must be in \[0, Infinity\], got -1/],
    ['beta out of range', (m) => m.fit(x, y, { optimizer: { type: 'adam', betas: [0.9, 1] } }), /Adam: betas\[1\] must be in \[0, 1\), got 1/],
    ['eps zero', (m) => m.fit(x, y, { optimizer: { type: 'rmsprop', eps: 0 } }), /RMSprop: eps must be in \(0, Infinity\], got 0/],
    ['unknown optimizer option', (m) => m.fit(x, y, { optimizer: { type: 'adagrad', lr_decay: 0.1 } }), /Adagrad: unknown option 'lr_decay'/],
    ['callback not a function', (m) => m.fit(x, y, { callbacks: { onBatchEnd: 3 } }), /callbacks.onBatchEnd must be a function, got 3/],
  ];
  for (const [what, call, msg] of bad) {
    it(what, async () => {
      const e = await engine();
      using m = e.sequential(spec);
      const before = m.getWeights();
      const live = e.liveBytes();
      await expect(call(m as never)).rejects.toThrow(msg);
      expect(m.getWeights()).toEqual(before);
      expect(e.liveBytes()).toBe(live);
      // Still usable afterwards.
      await m.fit(x, y, { epochs: 1, batchSize: 2 });
      expect(m.getWeights()).not.toEqual(before);
    });
  }

  it('evaluate and predict check shapes too; setWeights checks names and lengths before writing', async () => {
    const e = await engine();
    using m = e.sequential(spec);
    await expect(m.evaluate(x, [0, 1, 2, 5])).rejects.toThrow(/evaluate: label 3 is 5/);
    await expect(m.predict(new Float32Array(24))).rejects.toThrow(/predict: x has 24 values, expected a positive multiple of 25/);
    const before = m.getWeights();
    expect(() => m.setWeights({ '3.bias': [1, 2, 3], '0.weight': [1] })).toThrow(/'0.weight' has 1 values, expected 18/);
    expect(() => m.setWeights({ nope: [1] })).toThrow(/unknown parameter 'nope'/);
    expect(m.getWeights()).toEqual(before);
  });
});

describe('the functional API validates too', () => {
  it('conv2d names mismatched channels and lengths', async () => {
    const e = await engine();
    const a = { x: new Float32Array(2 * 3 * 4 * 4), xShape: [2, 3, 4, 4] as const, weight: new Float32Array(5 * 2 * 9), weightShape: [5, 2, 3, 3] as const };
    expect(() => ops.conv2d(e, a)).toThrow(/conv2d: weight expects 2 input channels, x has 3/);
    expect(() => ops.conv2d(e, { ...a, weightShape: [5, 3, 3, 3], weight: new Float32Array(135), x: new Float32Array(5) })).toThrow(/conv2d: x has length 5, expected 96/);
    expect(() => ops.softmaxCrossEntropy(e, { logits: new Float32Array(4), shape: [2, 2], labels: [0, 2] })).toThrow(/label 1 is 2/);
  });

  it('optimizer.step names mismatched buffer sizes and leaves the parameters alone', async () => {
    const e = await engine();
    using p = e.tensor([1, 2, 3]);
    using g = e.tensor([1, 1]);
    using opt = e.optimizer('adam', 3);
    expect(() => opt.step(p, g)).toThrow(/Adam.step: grads has 2 values, this optimizer was built for 3/);
    expect(Array.from(p.read())).toEqual([1, 2, 3]);
    expect(opt.steps).toBe(0);
  });
});

describe('disposed handles refuse use with a clear error', () => {
  it('model, buffer and optimizer', async () => {
    const e = await engine();
    const m = e.sequential(spec);
    m.dispose();
    expect(() => m.getWeights()).toThrow(/this model was disposed/);
    expect(() => m.fit(x, y)).toThrow(/disposed/);
    m.dispose(); // twice is fine
    const b = e.tensor([1, 2]);
    b.dispose();
    expect(() => b.read()).toThrow(/tensor was disposed and cannot be used/);
    const o = e.optimizer('rmsprop', 2);
    o.dispose();
    expect(() => o.state()).toThrow(/RMSprop optimizer was disposed/);
  });
});
