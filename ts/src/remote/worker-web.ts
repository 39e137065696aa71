// spawn()'s dedicated worker in browsers: written as the literal
// `new Worker(new URL('./host.js', import.meta.url), { type: 'module' })`, the form Vite, webpack 5, Rollup
// and Parcel bundle as a worker entry (and that esbuild leaves as written: there host.js sits beside the bundle).
import { webHostWorker, type HostEvents, type HostWorker, type WebWorkerLike } from './transport.js';

export async function startHostWorker(events: HostEvents): Promise<HostWorker> {
  const w = new Worker(new URL('./host.js', import.meta.url), { type: 'module' });
  return webHostWorker(w as unknown as WebWorkerLike, events);
}
