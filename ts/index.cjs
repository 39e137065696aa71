// require('wasmcnn'): the package is ES modules, which Node's require() loads itself from Node 20.19 and
// 22.12 on (the versions package.json's engines asks for). Older Node refuses with ERR_REQUIRE_ESM; this
// says what to do instead. The module is the same instance an `import` gets (no second copy).
'use strict';
try {
  module.exports = require('./dist/index.js');
} catch (e) {
  if (e && e.code === 'ERR_REQUIRE_ESM') {
    throw new Error(
      `wasmcnn is an ES module package: require('wasmcnn') needs Node ^20.19.0 or >=22.12.0 (this is ${process.version}). ` +
        "Upgrade Node, or load it with import: `const { init } = await import('wasmcnn')`.",
      { cause: e },
    );
  }
  throw e;
}
