// Property-based tests (fast-check): random model specs, shapes and option objects never trap, never hang,
// and either train or throw a TypeError/RangeError that names where; and a bounded fuzz of the parsers
// (model JSON, checkpoint text). Runs are bounded for CI; FUZZ_RUNS=n runs longer by hand.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkpointFromJSON, checkpointToJSON, type Checkpoint, type Engine, type ModelJSON, type Sequential } from '../ts/src/index.js';
import { engine } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const params = { numRuns: RUNS, seed: SEED };

/** A refusal is fine when it is a TypeError or RangeError with a message; anything else fails the property. */
function named(e: unknown): void {
  if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
  expect(e.message.length).toBeGreaterThan(10);
}

/** The engine must still be healthy after anything a property did. */
function healthy(e: Engine): void {
  expect(e.poisoned).toBe(false);
}

/** Mostly `valid`, now and then one of `bad`: properties must see both sides of every check. */
const mostly = <T>(valid: fc.Arbitrary<T>, ...bad: unknown[]) => fc.oneof({ weight: 12, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
// Sizes around the edges, with some absurd ones: every one must train or be refused by name.
const BAD_SIZES = [0, -1, 1.5, 2 ** 31, 1e9, NaN, '3', null];
const dim = mostly(fc.integer({ min: 1, max: 8 }), ...BAD_SIZES);
const pairOf = (a: fc.Arbitrary<unknown>) => fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: fc.tuple(a, a) });
const kernel = pairOf(mostly(fc.integer({ min: 1, max: 3 }), 0, 7, 2 ** 30));
const stride = pairOf(mostly(fc.integer({ min: 1, max: 2 }), 0, -2));
const pad = fc.oneof(fc.constantFrom('valid', 'same'), pairOf(mostly(fc.integer({ min: 0, max: 2 }), -1, 16384, 8191, 2 ** 30)));
const conv = fc.record(
  { type: fc.constant('conv2d'), filters: dim, kernelSize: kernel, stride, padding: pad, dilation: pairOf(mostly(fc.integer({ min: 1, max: 2 }), 0)), useBias: mostly(fc.boolean(), 'yes') },
  { requiredKeys: ['type', 'filters', 'kernelSize'] },
);
const pool = fc.record({ type: fc.constant('maxPool2d'), poolSize: kernel, stride, padding: pairOf(mostly(fc.integer({ min: 0, max: 1 }), 5)) }, { requiredKeys: ['type', 'poolSize'] });
const odd = fc.oneof(
  fc.record({ type: fc.constantFrom('conv3d', 'batchnorm', '', 'Dense') }),
  fc.record({ type: fc.constant('relu'), units: fc.nat() }),
  fc.constantFrom(null, 3, 'relu'),
);
const body = fc.array(fc.oneof({ weight: 4, arbitrary: conv }, { weight: 2, arbitrary: pool }, { weight: 2, arbitrary: fc.constant({ type: 'relu' }) }, { weight: 1, arbitrary: odd }), { maxLength: 4 });
// Mostly an image model ending in flatten + dense; sometimes a flat one, or one without a class output.
const head = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constant({ type: 'flatten' }), fc.record({ type: fc.constant('dense'), units: dim }, { requiredKeys: ['type', 'units'] })) },
  { weight: 1, arbitrary: fc.constant([]) },
);
const spec = fc.oneof(
  { weight: 6, arbitrary: fc.record({ inputShape: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })), layers: fc.tuple(body, head).map(([b, h]) => [...b, ...h]), seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ inputShape: fc.array(dim, { maxLength: 4 }), layers: fc.array(fc.oneof(conv, pool, odd, fc.constant({ type: 'dense', units: 2 })), { maxLength: 3 }), seed: mostly(fc.nat(), -1, 2 ** 33) }) },
);

/** Makes `count` samples of the model's input and labels in range. */
function data(m: Sequential, count: number): { x: Float32Array; y: number[] } {
  const x = Float32Array.from({ length: count * m.sampleSize }, (_, i) => Math.sin(i * 0.7));
  return { x, y: Array.from({ length: count }, (_, i) => i % m.classes) };
}

describe.each([
  { label: 'simd', opts: { threads: 1, relaxedSimd: false } },
  { label: 'threaded', opts: { threads: 2, relaxedSimd: false } },
])('properties on the $label build', ({ opts }) => {
  it('random model specs: build and train a step, or a named refusal; never a trap, never a leak', async () => {
    const e = await engine(opts);
    let built = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(spec, fc.integer({ min: 1, max: 5 }), async (s, batch) => {
        const live = e.liveBytes();
        let m: Sequential;
        try {
          m = e.sequential(s as never);
        } catch (err) {
          named(err);
          refused++;
          expect(e.liveBytes()).toBe(live);
          return;
        }
        built++;
        try {
          const { x, y } = data(m, batch);
          try {
            const h = await m.fit(x, y, { batchSize: batch, optimizer: { type: 'adam', lr: 1e-3 } });
            expect(h.epochs).toHaveLength(1);
          } catch (err) {
            named(err);
          }
          healthy(e);
        } finally {
          m.dispose();
        }
        expect(e.liveBytes()).toBe(live);
      }),
      params,
    );
    console.log(`${opts.threads} thread(s): ${built} specs built and trained, ${refused} refused by name`);
    expect(built).toBeGreaterThan(RUNS / 10);
  });

  it('random fit options: train, or a named refusal with the weights bitwise unchanged', async () => {
    const e = await engine(opts);
    using m = e.sequential({ inputShape: [1, 6, 6], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3 }, { type: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 3 }], seed: 1 });
    const { x, y } = data(m, 6);
    // Activation buffers grow to the largest batch seen (6 here) and stay: grow them first.
    await m.fit(x, y, { batchSize: 6 });
    const bad = [null, 'x', [], {}, 1e39, -1, NaN, Infinity, 1.5];
    const int = (lo: number, hi: number) => mostly(fc.integer({ min: lo, max: hi }), ...bad);
    const rate = mostly(fc.constantFrom(1e-3, 1e-2, 0.1, 1e-4), ...bad, 1e38, 0);
    const optimizer = fc.oneof(
      fc.constantFrom('adam', 'rmsprop', 'adagrad', 'nadam'),
      fc.record(
        { type: mostly(fc.constantFrom('adam', 'adagrad', 'rmsprop', 'sgd', 'adamw', 'adamax', 'adadelta'), 'nadam', 'lookahead'), lr: rate, eps: mostly(fc.constantFrom(1e-8, 1e-6), 0, -1), momentum: mostly(fc.constantFrom(0, 0.9), 1.5), weightDecay: mostly(fc.constantFrom(0, 1e-4), -1) },
        { requiredKeys: ['type', 'lr'] },
      ),
    );
    const options = fc.record(
      {
        epochs: int(0, 2), batchSize: int(1, 8), accumulate: int(1, 3), shuffle: mostly(fc.boolean(), 1), seed: int(0, 100), clipNorm: mostly(fc.constantFrom(0.5, 1, 10), 0, -1),
        clipValue: mostly(fc.constantFrom(0.1, 1), 0), telemetry: mostly(fc.boolean(), 'yes'), optimizer,
        onNonFinite: mostly(fc.constantFrom('throw', 'skipStep', 'restore'), 'ignore'),
        schedule: fc.oneof(
          fc.record({ type: fc.constant('step'), stepSize: int(1, 3), gamma: mostly(fc.constantFrom(0.5, 0.1), -1) }, { requiredKeys: ['type', 'stepSize'] }),
          fc.record({ type: fc.constant('cosine'), tMax: int(1, 5), warmup: int(0, 2) }, { requiredKeys: ['type', 'tMax'] }),
          fc.record({ type: fc.constantFrom('warm', 'linear') }),
        ),
        earlyStopping: fc.record({ monitor: mostly(fc.constant('loss'), 'valLoss', 'acc'), patience: int(0, 2) }, { requiredKeys: [] }),
        bogus: fc.constant(1),
      },
      { requiredKeys: [] },
    ).map((o) => {
      // An unknown key now and then, not half the time.
      const { bogus, ...rest } = o as Record<string, unknown>;
      return (rest.seed as number) % 13 === 0 ? { ...rest, bogus } : rest;
    });
    let trained = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(options, async (o) => {
        const before = m.getWeights();
        const live = e.liveBytes();
        try {
          await m.fit(x, y, o as never);
          trained++;
        } catch (err) {
          named(err);
          refused++;
          // A refusal before training leaves the weights alone; a non-finite step is undone (also unchanged).
          expect(m.getWeights()).toEqual(before);
        }
        healthy(e);
        expect(e.liveBytes()).toBe(live);
      }),
      params,
    );
    console.log(`fit options: ${trained} trained, ${refused} refused by name`);
  });

  it('fuzzed model JSON and checkpoint text: load, or a named refusal that leaves the model as it was', async () => {
    const e = await engine(opts);
    using m = e.sequential({ inputShape: [1, 5, 5], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3 }, { type: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 2 }], seed: 2 });
    const { x, y } = data(m, 4);
    let ck: Checkpoint | undefined;
    await m.fit(x, y, { epochs: 2, batchSize: 2, schedule: { type: 'step', stepSize: 1 }, checkpoint: { every: 1, save: (c) => void (ck = c) } });
    const json = JSON.stringify(m.toJSON());
    const text = checkpointToJSON(ck!);
    // Mutations of the text: cut it, flip characters, or splice in JSON fragments.
    const mutate = (src: string) =>
      fc.oneof(
        fc.nat({ max: src.length }).map((n) => src.slice(0, n)),
        fc.array(fc.tuple(fc.nat({ max: src.length - 1 }), fc.constantFrom('0', '-', '"', '{', ']', 'e', '9', 'n', ',', ' ')), { minLength: 1, maxLength: 4 }).map((edits) => {
          const a = src.split('');
          for (const [i, ch] of edits) a[i] = ch;
          return a.join('');
        }),
        fc.tuple(fc.nat({ max: src.length }), fc.constantFrom('null', '[]', '{}', '1e39', '-1', 'NaN', '"x"', '[1,2]')).map(([i, frag]) => {
          // Replace the value after the i-th colon with a fragment.
          const at = src.indexOf(':', i);
          if (at < 0) return src;
          const end = src.slice(at + 1).search(/[,}\]]/);
          return src.slice(0, at + 1) + frag + (end < 0 ? '' : src.slice(at + 1 + end));
        }),
      );
    let loaded = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(mutate(json), mutate(text), async (jt, ct) => {
        const live = e.liveBytes();
        // Model JSON.
        try {
          const parsed = JSON.parse(jt) as ModelJSON;
          e.modelFromJSON(parsed).dispose();
          loaded++;
        } catch (err) {
          if (!(err instanceof SyntaxError)) named(err);
          refused++;
        }
        expect(e.liveBytes()).toBe(live);
        // Checkpoint text, then resuming from it.
        const before = m.getWeights();
        try {
          const c = checkpointFromJSON(ct);
          await m.fit(x, y, { epochs: 3, batchSize: 2, resume: c });
          loaded++;
        } catch (err) {
          named(err);
          refused++;
          if (/became|made weights non-finite/.test((err as Error).message)) {
            // A valid checkpoint that resumed and then diverged (a fuzzed rate of 1e39): the exploding step
            // was undone, so the model holds finite weights.
            expect(Object.values(m.getWeights()).every((v) => v.every(Number.isFinite))).toBe(true);
          } else {
            // Refused while parsing or validating: nothing was restored.
            expect(m.getWeights()).toEqual(before);
          }
        }
        healthy(e);
        expect(e.liveBytes()).toBe(live);
      }),
      params,
    );
    console.log(`parsers: ${loaded} loaded, ${refused} refused by name`);
  });
});
