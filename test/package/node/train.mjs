// Run in a temp project that installed the tarball (test/package.test.ts), by Node, Deno and Bun: trains the
// browser tests' fixture through the package's own entry. argv: 'init' | 'spawn', threads, 'plain' | 'auto'.
import { init, spawn } from 'wasmcnn';
import { trainFixture, trainFixtureRemote } from './train-fixture.js';

const [how = 'init', threads = '2', relaxed = 'plain'] = process.argv.slice(2);
const opts = { threads: Number(threads), relaxedSimd: relaxed === 'auto' ? 'auto' : false };
const r = how === 'spawn' ? await trainFixtureRemote(spawn, { ...opts, where: 'worker' }) : await trainFixture(init, opts);
console.log(JSON.stringify(r));
