// Preloaded (`node --require`) by test/cli/bundle.test.ts: at exit, the Node built-in modules this
// process loaded, as one line on stderr.
'use strict';
process.on('exit', () => {
  const names = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  require('node:fs').writeSync(2, `builtins: ${JSON.stringify(names)}\n`);
});
