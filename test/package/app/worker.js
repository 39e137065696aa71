// The app's own worker (may block: with cross-origin isolation, init() runs the threaded build here).
import { init } from 'wasmcnn';
import { trainFixture } from './train-fixture.js';

onmessage = async (ev) => {
  try {
    postMessage({ ok: true, ...(await trainFixture(init, ev.data)) });
  } catch (e) {
    postMessage({ ok: false, error: String((e && e.stack) || e) });
  }
};
