/**
 * The fake libxenctrl (test/native/fake-xenctrl/*.c): building it, programming it, opening the
 * native backend against it and reading back what it was asked.
 *
 * How it is controlled: the fake's xc_interface_open reads the script named by
 * $XLP_FAKE_XENCTRL_SCRIPT (see script.c for the commands), so each open gets a fresh hypervisor
 * with the payloads, failures, delays and triggers the test wrote. The addon is pointed at the
 * fake with the `library` open option (the same path as $XEN_LIVEPATCH_LIBXENCTRL). A `trace`
 * file receives one line per libxenctrl call with its arguments, which is how tests see what the
 * addon passed (timeouts, flags, names as hex, LIST paging).
 */
import { afterEach, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openNative, type NativeBackend } from '../../../lib/native/index.js';
import { CACHE, ROOT } from './paths.js';

/**
 * The library generations the fake is built as: its own version (soname libxenctrl.so.4.NN and
 * the real library's symbol versions), which decides its upload prototype (4-argument up to 4.18,
 * 5-argument from 4.19), its sysctl interface (0x15; 0x16 from 4.21) and whether LIST passes
 * buffer sizes to Xen (4.21). 13 builds a library without xc_livepatch_list_get_sizes, as 4.13's
 * was. The fake hypervisor reports the library's version unless the script says otherwise.
 */
export type FakeMinor = 13 | 17 | 20 | 21;
/** The three generations the addon knows, one library each. */
export const GENERATIONS = [17, 20, 21] as const satisfies readonly FakeMinor[];
export type FakeCall = 'version' | 'upload' | 'get' | 'list-probe' | 'list-batch' | 'action' | 'readconsole' | 'debugkeys';
export type FakeDelay = FakeCall | 'open' | 'close';

/**
 * The generation the generation-independent tests run against: `npm test` runs the bridge suite
 * once per generation (vitest.config.ts sets XLP_FAKE_XEN_MINOR for each run).
 */
export const SUITE_MINOR: FakeMinor = ((): FakeMinor => {
  const v = Number(process.env.XLP_FAKE_XEN_MINOR ?? '17');
  if (!(GENERATIONS as readonly number[]).includes(v))
    throw new Error(`XLP_FAKE_XEN_MINOR=${process.env.XLP_FAKE_XEN_MINOR} is not one of ${GENERATIONS.join(', ')}`);
  return v as FakeMinor;
})();

/** The generation name the addon gives a library of this minor. */
export function generationOf(minor: FakeMinor): string {
  return minor >= 21 ? '4.21+' : minor >= 19 ? '4.19-4.20' : '4.14-4.18';
}

const SOURCE_DIR = join(ROOT, 'test', 'native', 'fake-xenctrl');

/** The ASan run builds the fake instrumented too, so its writes into our buffers are checked. */
function sanitizeFlags(sanitize = process.env.XLP_FAKE_SANITIZE === '1'): string[] {
  return sanitize ? ['-fsanitize=address,undefined', '-fno-omit-frame-pointer'] : [];
}

/** The version node Xen's build gives every libxenctrl symbol: VERS_ up to 4.17, libxenctrl_ after. */
export function symbolVersion(minor: FakeMinor): string {
  return minor <= 17 ? `VERS_4.${minor}.0` : `libxenctrl_4.${minor}.0`;
}

export interface FakeLibraryOptions {
  /**
   * `real` (default): soname and symbol versions as Xen's build makes them. `none`: neither, so
   * nothing in the file says which libxenctrl it is.
   */
  readonly identity?: 'real' | 'none';
  /** Instrumented with ASan/UBSan: by default in the ASan run. A process without libasan needs false. */
  readonly sanitize?: boolean;
}

/** Builds (or reuses) the fake library for one generation; returns its path. */
export function fakeLibrary(minor: FakeMinor = SUITE_MINOR, options: FakeLibraryOptions = {}): string {
  const identity = options.identity ?? 'real';
  const sources = readdirSync(SOURCE_DIR)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .sort();
  const soname = `libxenctrl.so.4.${minor}`;
  const versionScript = `${symbolVersion(minor)} { global: *; };\n`;
  const flags = [
    '-std=gnu11',
    '-shared',
    '-fPIC',
    '-O1',
    '-g',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fvisibility=hidden',
    `-DFAKE_XEN_MINOR=${minor}`,
    ...sanitizeFlags(options.sanitize),
  ];
  const hash = createHash('sha256');
  hash.update(flags.join(' ')).update(identity).update(versionScript);
  for (const f of sources) hash.update(f).update(readFileSync(join(SOURCE_DIR, f)));
  const dir = join(CACHE, 'fake-xenctrl', hash.digest('hex').slice(0, 16));
  const lib = join(dir, identity === 'real' ? soname : 'libfakectrl.so');
  if (existsSync(lib)) return lib;
  mkdirSync(dir, { recursive: true });
  // Test files build in parallel: compile to a private name, then rename into place atomically.
  const tmp = `${lib}.${process.pid}.tmp`;
  const linkFlags: string[] = [];
  if (identity === 'real') {
    const map = `${tmp}.map`;
    writeFileSync(map, versionScript);
    linkFlags.push(`-Wl,-soname,${soname}`, `-Wl,--version-script=${map}`);
  }
  const cfiles = sources.filter((f) => f.endsWith('.c')).map((f) => join(SOURCE_DIR, f));
  execFileSync('gcc', [...flags, ...linkFlags, '-o', tmp, ...cfiles], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(tmp, lib);
  rmSync(`${tmp}.map`, { force: true });
  return lib;
}

export const hex = (bytes: string | Uint8Array): string => Buffer.from(bytes).toString('hex') || '-';

/** Trigger commands (run against the fake hypervisor when an event fires). */
export const cmd = {
  upload: (name: string | Uint8Array, metadata: string | Uint8Array = ''): string => `upload ${hex(name)} ${hex(metadata)}`,
  unload: (name: string | Uint8Array): string => `unload ${hex(name)}`,
  uploadAuto: 'upload-auto',
  console: (text: string): string => `console ${hex(text)}`,
};

export interface PayloadSeed {
  readonly state?: 1 | 2;
  readonly rc?: number;
  readonly metadata?: string | Uint8Array;
}

/** Builds a fake script line by line; see script.c for the meaning of each command. */
export class FakeScript {
  readonly lines: string[] = [];

  private add(line: string): this {
    this.lines.push(line);
    return this;
  }

  version(major: number, minor: number): this {
    return this.add(`version ${major} ${minor}`);
  }
  extra(text: string): this {
    return this.add(`extra ${hex(text)}`);
  }
  buildId(id: string | null): this {
    return this.add(`build-id ${id ?? 'none'}`);
  }
  payload(name: string | Uint8Array, seed: PayloadSeed = {}): this {
    return this.add(`payload ${hex(name)} ${seed.state ?? 1} ${seed.rc ?? 0} ${hex(seed.metadata ?? '')}`);
  }
  preempt(entries: number): this {
    return this.add(`preempt ${entries}`);
  }
  console(text: string): this {
    return this.add(cmd.console(text));
  }
  consoleSize(bytes: number): this {
    return this.add(`console-size ${bytes}`);
  }
  openFail(errno: number, options: { quiet?: boolean; noErrno?: boolean } = {}): this {
    return this.add(`open-fail ${errno}${options.quiet ? ' quiet' : options.noErrno ? ' noerrno' : ''}`);
  }
  /** A "lying" library: see `struct lies` in fake.h. */
  lie(what: 'lengths' | 'done' | 'console' | 'build-id' | { sizes: readonly [nr: number, names: number, metadata: number] }): this {
    return this.add(typeof what === 'string' ? `lie ${what}` : `lie sizes ${what.sizes.join(' ')}`);
  }
  fail(call: FakeCall, errno: number): this {
    return this.add(`fail ${call} ${errno}`);
  }
  delay(call: FakeDelay, ms: number): this {
    return this.add(`delay ${call} ${ms}`);
  }
  before(event: FakeCall, nth: number | '*', command: string): this {
    return this.add(`before ${event} ${nth} ${command}`);
  }
  after(event: FakeCall, nth: number | '*', command: string): this {
    return this.add(`after ${event} ${nth} ${command}`);
  }
  trace(path: string): this {
    return this.add(`trace ${hex(path)}`);
  }
  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

export interface FakeSession {
  readonly backend: NativeBackend;
  readonly library: string;
  /** The trace lines written so far. */
  trace(): string[];
}

// Registered in each test file that imports this module (vitest evaluates it once per file).
const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory for one test's script and trace, removed after the test file. */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xlp-fake-'));
  scratch.push(dir);
  return dir;
}

/** Writes `script` and returns the path of the file the fake will read it from. */
export function writeScript(script: FakeScript, dir = scratchDir()): string {
  const path = join(dir, 'script.txt');
  writeFileSync(path, script.text());
  return path;
}

/**
 * Opens the native backend against the fake, programmed by `script`. Opens must not overlap:
 * the fake reads $XLP_FAKE_XENCTRL_SCRIPT on the pool thread while the open runs.
 */
export async function openFake(script: FakeScript = new FakeScript(), minor: FakeMinor = SUITE_MINOR): Promise<FakeSession> {
  const library = fakeLibrary(minor);
  const dir = scratchDir();
  const tracePath = join(dir, 'trace.txt');
  writeFileSync(tracePath, '');
  const withTrace = new FakeScript();
  withTrace.lines.push(...script.lines);
  withTrace.trace(tracePath);
  const previous = process.env.XLP_FAKE_XENCTRL_SCRIPT;
  process.env.XLP_FAKE_XENCTRL_SCRIPT = writeScript(withTrace, dir);
  try {
    const backend = await openNative({ library });
    return {
      backend,
      library,
      trace: () =>
        readFileSync(tracePath, 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
    };
  } finally {
    if (previous === undefined) delete process.env.XLP_FAKE_XENCTRL_SCRIPT;
    else process.env.XLP_FAKE_XENCTRL_SCRIPT = previous;
  }
}

/** Opens against the fake and expects a failure; returns what openNative rejected with. */
export async function openFakeError(script: FakeScript, minor: FakeMinor = SUITE_MINOR): Promise<unknown> {
  try {
    const s = await openFake(script, minor);
    await s.backend.close();
  } catch (error) {
    return error;
  }
  throw new Error('openNative resolved, but a failure was expected');
}

/**
 * `session(script, minor)` opens a fake-backed NativeBackend that is closed after each test of the
 * calling file (register it at the top level of a test file). After each test, no LIST may have
 * made libxenctrl copy past the addon's buffers (the fake traces what the real library would have
 * overwritten).
 */
export function fakeSessions(): (script?: FakeScript, minor?: FakeMinor) => Promise<FakeSession> {
  const open: FakeSession[] = [];
  afterEach(async () => {
    const sessions = open.splice(0);
    await Promise.all(sessions.map((s) => s.backend.close()));
    for (const s of sessions) expect(s.trace().filter((l) => l.startsWith('overflow'))).toEqual([]);
  });
  return async (script = new FakeScript(), minor: FakeMinor = SUITE_MINOR) => {
    const s = await openFake(script, minor);
    open.push(s);
    return s;
  };
}
