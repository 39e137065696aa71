// Runs in a dedicated module Worker: a thread that may block, so the threaded build can drive its pool.
import { init } from '../../ts/dist/index.browser.js';
import { trainFixture } from './train-fixture.js';

onmessage = async (ev) => {
  try {
    postMessage({ ok: true, ...(await trainFixture(init, ev.data)) });
  } catch (e) {
    postMessage({ ok: false, error: String(e && e.stack || e) });
  }
};
