/**
 * Smaller ways ordinary JavaScript (or an ordinary C library) could bend the addon: setters on
 * Object.prototype, an allocator that sets errno, handles that are never closed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ERRNO } from '../../../lib/xen/errno.js';
import { cleanEnv } from '../support/child.js';
import { FakeScript, SUITE_MINOR, fakeLibrary, scratchDir, writeScript } from '../support/fake-xenctrl.js';
import { distNativeEntry, workDir } from '../support/paths.js';

const SANITIZER = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;

describe('results and errors', () => {
  it('are built without running setters a program put on Object.prototype', () => {
    // Every property the addon puts on a result or an error, as a trap: assigning it would run
    // the setter (which records and throws) and leave the property off the object.
    const child = `
      const { openNative } = await import(process.argv[1]);
      const b = await openNative({ library: process.argv[2] });
      console.log('');
      let trapped = '';
      const keys = ['state', 'rc', 'name', 'nameBytes', 'metadata', 'major', 'minor', 'extra', 'buildId',
        'xlp', 'errno', 'code', 'call', 'payload', 'payloadBytes', 'detail', 'reason', 'tried'];
      const traps = keys.map((key) => [Object.prototype, key]);
      // Only around the calls: Node's own internals assign such names too (and array indices, so
      // those cannot be trapped at all).
      const arm = () => { for (const [proto, key] of traps) Object.defineProperty(proto, key, { configurable: true, get() { return undefined; }, set(v) { trapped += key + ' '; throw new Error('trap ' + key); } }); };
      const disarm = () => { for (const [proto, key] of traps) delete proto[key]; };
      const out = {};
      arm();
      try {
        const list = await b.list();
        const get = await b.get('b');
        const version = await b.xenVersion();
        const callError = await b.get('missing').then(() => null, (e) => e);
        const openError = await openNative({ library: process.argv[3] }).then(() => null, (e) => e);
        disarm();
        out.list = list.map((e) => [e.name, Buffer.from(e.nameBytes).toString('hex'), e.state, e.rc, Buffer.from(e.metadata).toString()]);
        out.get = get;
        out.version = version;
        out.callError = [callError.name, callError.code, callError.errno, callError.call, callError.payload];
        out.openError = [openError.name, openError.reason, openError.tried];
      } finally {
        disarm();
      }
      await b.close();
      out.trapped = trapped;
      console.log(JSON.stringify(out));
    `;
    const script = writeScript(new FakeScript().payload('a', { metadata: 'k=v\0' }).payload('b', { state: 2, rc: -11 }).extra('.9'));
    const missing = join(scratchDir(), 'libxenctrl.so.4.17');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child, distNativeEntry(), fakeLibrary(SUITE_MINOR), missing], {
      encoding: 'utf8',
      env: { ...process.env, XLP_FAKE_XENCTRL_SCRIPT: script },
    });
    expect(r.stderr).not.toMatch(SANITIZER);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      list: [
        ['a', '61', 'CHECKED', 0, 'k=v\0'],
        ['b', '62', 'APPLIED', -11, ''],
      ],
      get: { state: 'APPLIED', rc: -11 },
      version: { major: 4, minor: SUITE_MINOR, extra: '.9', buildId: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3' },
      callError: ['XenError', 'ENOENT', ERRNO.ENOENT, 'get', 'missing'],
      openError: ['XenUnavailableError', 'library-not-found', [missing]],
      trapped: '',
    });
  });
});

describe('a failed open', () => {
  it('reports the errno libxenctrl failed with, even when building the message sets errno', () => {
    // An allocator may set errno on success (POSIX allows it); this one always does. libxenctrl
    // logs its complaint without an errno value, so the addon must use errno itself, read before
    // it builds anything. The release addon, without sanitizers (ASan brings its own malloc).
    const dir = workDir('errno-shim');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const shim = join(dir, 'errno-shim.so');
    const source = join(dir, 'errno-shim.c');
    writeFileSync(
      source,
      [
        '#include <errno.h>',
        '#include <stddef.h>',
        'extern void *__libc_malloc(size_t);',
        'void *malloc(size_t n) {',
        '  void *p = __libc_malloc(n);',
        '  if (p) errno = EILSEQ;',
        '  return p;',
        '}',
        '',
      ].join('\n'),
    );
    execFileSync('gcc', ['-shared', '-fPIC', '-O1', '-o', shim, source]);
    const child = `
      const { openNative } = await import(process.argv[1]);
      try { await openNative({ library: process.argv[2] }); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ reason: e.reason, code: e.code, message: e.message })); }
    `;
    const script = writeScript(new FakeScript().openFail(ERRNO.ENOENT, { noErrno: true }));
    const env = cleanEnv({ XLP_FAKE_XENCTRL_SCRIPT: script, LD_PRELOAD: shim });
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', child, distNativeEntry(), fakeLibrary(SUITE_MINOR, { sanitize: false })],
      { env, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { reason: string; code: string; message: string };
    expect(result).toMatchObject({ reason: 'not-xen', code: 'ENOENT' });
    expect(result.message).toContain('cannot open the privileged command interface');
  });
});

describe('handles never closed', () => {
  it('tell V8 what they hold, so the collector reaches them sooner; close() gives it back', () => {
    // V8's own account of external memory, as --trace-gc-verbose prints it at each collection:
    // 100 open handles at one collection, none at the last.
    const child = `
      const { openNative } = await import(process.argv[1]);
      const handles = [];
      for (let i = 0; i < 100; i++) handles.push(await openNative({ library: process.argv[2] }));
      globalThis.gc();
      await Promise.all(handles.map((h) => h.close()));
      globalThis.gc();
    `;
    const script = writeScript(new FakeScript());
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', '--trace-gc-verbose', '--input-type=module', '-e', child, distNativeEntry(), fakeLibrary(SUITE_MINOR)],
      {
        encoding: 'utf8',
        env: { ...process.env, XLP_FAKE_XENCTRL_SCRIPT: script },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    expect(r.stderr).not.toMatch(SANITIZER);
    expect(r.status, r.stderr).toBe(0);
    const reported = [...r.stdout.matchAll(/External memory reported: +(\d+) KB/g)].map((m) => Number(m[1]));
    expect(reported.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...reported)).toBeGreaterThanOrEqual(100 * 1024);
    expect(reported.at(-1)).toBeLessThan(10 * 1024);
  });
});
