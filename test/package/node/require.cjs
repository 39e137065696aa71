// CommonJS consumer (test/package.test.ts): require('wasmcnn') in Node, then the same fixture run.
const { init } = require('wasmcnn');
const { trainFixture } = require('./train-fixture.js');

trainFixture(init, { threads: 2, relaxedSimd: false }).then((r) => console.log(JSON.stringify(r)));
