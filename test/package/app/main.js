// The page of the bundled-app tests (test/package.test.ts): trains the fixture with init() on the main
// thread, with spawn(), and in the app's own worker, importing the package by name as an app would.
import { init, spawn } from 'wasmcnn';
import { trainFixture, trainFixtureRemote } from './train-fixture.js';

const settle = async (f) => {
  try {
    return { ok: true, ...(await f()) };
  } catch (e) {
    return { ok: false, error: String((e && e.stack) || e) };
  }
};

window.run = (how, opts) => {
  if (how === 'init') return settle(() => trainFixture(init, opts));
  if (how === 'spawn') return settle(() => trainFixtureRemote(spawn, opts));
  return new Promise((resolve) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    w.onmessage = (ev) => {
      resolve(ev.data);
      w.terminate();
    };
    w.onerror = (ev) => resolve({ ok: false, error: ev.message || 'the app worker failed' });
    w.postMessage(opts);
  });
};
window.isolated = globalThis.crossOriginIsolated === true;
window.ready = true;
