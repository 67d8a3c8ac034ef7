// Host side of the real-hypervisor suite: everything dom0 needs, in one staging folder.
//   - facts read from the packaged image and its symbol table (build-id, function bytes and sizes)
//   - payloads built for that build-id: the parity payloads, every fixture of the preflight
//     catalogue and every malformed variant of its rule cases, a few cases that reproduce a rule's
//     system context for real, the `xlp` end-to-end payloads, >1024 distinct payloads for a list
//     longer than one LIST page, and the bench payload
//   - the project packed as users get it (pack.ts), its node_modules copied in
//   - the guest suite transpiled against that package (transpile.ts)
//   - plan.json describing all of it
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, cacheDir, log, run } from '../common.js';
import { fetchPackages, type Fetched } from '../fetch.js';
import { hypervisorBuildId, xenImage } from '../image.js';
import { XEN_TARGETS, type XenTarget, xenTarget } from '../targets.js';
import { ensureXensyms } from '../xensyms.js';
import { buildPayloads, type BuiltPayload } from '../../payloads/builder.js';
import { payloadVariant } from '../../payloads/variants.js';
import { PARITY_SCENARIOS } from '../../../lib/parity/index.js';
import { RULES, type RuleCode } from '../../../lib/preflight/index.js';
import { hasXenFeature, parseXenVersion } from '../../../lib/xen/version.js';
import { ERRNO } from '../../../lib/xen/errno.js';
import { loadedPayloadInfo, readPayload } from '../../../lib/payload/index.js';
import { fixture, fixtureSpecs, OTHER_XEN_BUILD_ID } from '../../../test/fixtures/catalogue.js';
import { RULE_CASES } from '../../../test/preflight/rule-cases.js';
import { paritySpecs } from '../../../test/parity/payloads.js';
import { xenFacts, type XenFacts } from './facts.js';
import { packProject, type Packed } from './pack.js';
import type { CrossCase, FixtureCase, StagedPayload, SuitePlan } from './plan.js';
import { transpileGuest } from './transpile.js';

export const SECTIONS = ['parity', 'cli', 'native', 'preflight', 'cross'] as const;
/** Xen returns at most 1024 entries per LIST call (more is E2BIG), so 1025 need a second page. */
export const BULK_PAYLOADS = 1030;

export interface Prepared {
  stage: string;
  plan: SuitePlan;
  fetched: Fetched;
  packed: Packed;
  timings: Record<string, number>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

class Stager {
  constructor(readonly root: string) {}
  write(rel: string, bytes: Uint8Array): string {
    const path = join(this.root, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, bytes);
    return rel;
  }
  payload(rel: string, built: BuiltPayload): StagedPayload {
    return { file: this.write(rel, readFileSync(built.path)), buildId: built.buildId };
  }
}

/** Parameters of test/parity/payloads/parity.h for this hypervisor binary. */
function parityDefines(f: XenFacts): Record<string, string> {
  const expect = Buffer.from(f.extraVersion.bytes, 'hex').subarray(0, 8);
  return {
    XLP_OLD_SIZE: String(f.extraVersion.gap),
    XLP_MINOR_VERSION_ADDR: `0x${f.minorVersion.addr}UL`,
    XLP_MINOR_VERSION_SZ: String(f.minorVersion.size),
    XLP_MINOR_VERSION_NOP_LEN: String(f.minorVersion.lastInsnOffset),
    XLP_EXPECT_BYTES: `{${[...expect].map((b) => `0x${b.toString(16)}`).join(',')}}`,
  };
}

/** Why a parity scenario cannot run on this hypervisor (absent: it runs). */
function realSkips(f: XenFacts): Record<string, string> {
  const skips: Record<string, string> = {};
  for (const s of PARITY_SCENARIOS) {
    if (s.needsXenInternals && !f.structPayload.ok) {
      skips[s.id] =
        `its payload pokes at struct payload (${s.needsXenInternals}), and this binary's revert_payload does not show the 4.17 x86-64 offsets: ${f.structPayload.evidence.join('; ')}`;
    }
    if (s.requires?.includes('mock')) {
      skips[s.id] =
        'it stages a second hypercall while the first action is still pending; on a real hypervisor the work runs from a tasklet the scheduler picks as soon as the hypercall returns, so that window cannot be held open deterministically (mock-only by design)';
    }
  }
  return skips;
}

function replaceAll(buf: Buffer, from: string, to: string): number {
  if (from.length !== to.length) throw new Error('replaceAll keeps lengths');
  const a = Buffer.from(from, 'latin1');
  const b = Buffer.from(to, 'latin1');
  let n = 0;
  for (let at = buf.indexOf(a); at !== -1; at = buf.indexOf(a, at + b.length)) {
    b.copy(buf, at);
    n++;
  }
  return n;
}

/** The other target the cross-version cases are built for. */
function otherTarget(t: XenTarget): XenTarget {
  return t.id === '4.17' ? XEN_TARGETS['4.20'] : XEN_TARGETS['4.17'];
}

/**
 * What this hypervisor answers to a payload built for another one, written from Xen's code at each
 * release (xen/common/livepatch.c): 4.17 resolves symbols long before it compares build-ids (in
 * `xen_build_id_dep`, one line); 4.20 compares first (`check_xen_buildid`, a three-line block).
 */
function crossExpectations(
  t: XenTarget,
  name: string,
  running: string,
  other: string,
): Record<'plain' | 'unknownSymbol', CrossCase['expect']> {
  // 4.20's block is indented with U+00A0 NO-BREAK SPACEs, as its format string is (xen/common/livepatch.c L512-514).
  const mismatch =
    t.id === '4.17'
      ? [`(XEN) livepatch: ${name}: check against hypervisor build-id failed`]
      : [`(XEN) livepatch: ${name}: build-id mismatch:`, `(XEN) \u00a0 livepatch: ${other}`, `(XEN) ${'\u00a0'.repeat(7)} xen: ${running}`];
  return {
    plain: { errno: ERRNO.EINVAL, console: mismatch },
    unknownSymbol:
      t.id === '4.17'
        ? { errno: ERRNO.ENOENT, console: [`(XEN) livepatch: ${name}: Unknown symbol: xen_extra_versiox`] }
        : { errno: ERRNO.EINVAL, console: mismatch },
  };
}

export async function prepareSuite(options: { sections?: string[]; target?: XenTarget } = {}): Promise<Prepared> {
  const target = options.target ?? xenTarget(undefined);
  const branch = parseXenVersion(target.id);
  const timings: Record<string, number> = {};
  const lap = (what: string, t0: number) => (timings[what] = +((Date.now() - t0) / 1000).toFixed(1));
  let t0 = Date.now();
  const fetched = fetchPackages(target);
  const image = xenImage(fetched);
  const otherT = otherTarget(target);
  const other = { target: otherT.id, ...hypervisorBuildId(otherT) };
  lap('fetchSec', t0);
  t0 = Date.now();
  const syms = await ensureXensyms(image, fetched);
  lap('xensymsSec', t0);
  const facts = xenFacts(image, syms);
  const xen = facts.buildId;
  log(`hypervisor ${facts.version}, build-id ${xen} (read from the image)`);

  t0 = Date.now();
  const packed = packProject();
  lap('packSec', t0);

  t0 = Date.now();
  const stage = cacheDir(join('suite-stage', target.id));
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  cpSync(join(packed.appDir, 'node_modules'), join(stage, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  transpileGuest(join(stage, 'suite'));
  // Raw LIST sysctls for the list-paging scenario (libxenctrl offers none): a small C helper.
  mkdirSync(join(stage, 'bin'), { recursive: true });
  run('gcc', [
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-o',
    join(stage, 'bin', 'xlp-rawlist'),
    join(REPO_ROOT, 'scripts', 'xen-vm', 'suite', 'rawlist.c'),
    '-ldl',
  ]);
  const st = new Stager(stage);
  const payloadCache = cacheDir('payloads');
  const opts = { cacheDir: payloadCache };

  // Parity payloads, with this binary's addresses, sizes and bytes.
  const parityBuilt = await buildPayloads(paritySpecs({ xenBuildId: xen, defines: parityDefines(facts) }), opts);
  const parity: Record<string, StagedPayload> = {};
  for (const [name, b] of parityBuilt) parity[name] = st.payload(`payloads/parity/${name}.livepatch`, b);

  // The preflight catalogue for this build-id: valid fixtures, rule cases, special fixtures, then
  // cases reproducing a rule's system context on the real hypervisor. Same bytes and name: one case.
  const build = { xenBuildId: xen, cacheDir: payloadCache };
  const cases: FixtureCase[] = [];
  const seen = new Set<string>();
  const add = (c: Omit<FixtureCase, 'file'>, bytes: Uint8Array) => {
    const key = `${c.name}\0${sha(bytes)}\0${JSON.stringify(c.before)}`;
    if (seen.has(key)) return;
    seen.add(key);
    const file = st.write(`payloads/fixtures/${String(cases.length).padStart(3, '0')}.livepatch`, bytes);
    cases.push({ ...c, file });
  };
  const { valid, special } = fixtureSpecs(xen);
  for (const s of valid) {
    add(
      { id: `valid:${s.name}`, kind: 'valid', title: `valid fixture ${s.name}`, code: null, expectFatal: false, name: s.name, before: [] },
      (await fixture(s.name, build)).bytes,
    );
  }
  for (const c of RULE_CASES) {
    const rule = RULES[c.code as RuleCode];
    const bytes = await c.bytes(build);
    const options = typeof c.options === 'function' ? c.options(bytes) : c.options;
    const consoleLine = typeof c.console === 'function' ? c.console(bytes) : c.console;
    const ctx =
      options?.context || options?.xenVersion
        ? ' (the catalogue checks it against an imagined system; here preflight gets the real one)'
        : '';
    const entry: Omit<FixtureCase, 'file'> = {
      id: `rule:${c.code}:${c.title}`,
      kind: 'rule',
      title: `${c.title}${ctx}`,
      code: c.code,
      // A crash the hypervisor later turned into a refusal is fatal only before that version.
      expectFatal: rule.severity === 'fatal' && !(rule.fatalUntil && hasXenFeature(branch, rule.fatalUntil)),
      name: options?.name ?? 't',
      before: [],
      ...(typeof consoleLine === 'string' || consoleLine === null ? { console: consoleLine } : {}),
    };
    add(entry, bytes);
  }
  for (const s of special) {
    add(
      {
        id: `special:${s.name}`,
        kind: 'special',
        title: `special fixture ${s.name}`,
        code: null,
        expectFatal: false,
        name: 't',
        before: [],
      },
      (await fixture(s.name, build)).bytes,
    );
  }
  // Context reproductions: the system state a rule describes, made real.
  const normal = Buffer.from((await fixture('func_normal', build)).bytes);
  const normalFile = st.write('payloads/fixtures/ctx-func_normal.livepatch', normal);
  const ctxCase = (code: string, title: string, name: string, bytes: Uint8Array, before: FixtureCase['before'], note: string) =>
    add({ id: `context:${code}:${title}`, kind: 'context', title, code, expectFatal: false, name, before, note }, bytes);
  ctxCase(
    'duplicate-name',
    'a name already uploaded',
    'hello',
    normal,
    [{ name: 'hello', file: normalFile }],
    'func_normal uploaded as hello twice',
  );
  ctxCase(
    'duplicate-build-id',
    'a build-id already uploaded',
    't',
    normal,
    [{ name: 'other', file: normalFile }],
    'func_normal uploaded as other, then as t',
  );
  {
    const model = readPayload(normal).payload!;
    const other = Buffer.from(normal);
    const id = Buffer.from(model.buildId!, 'hex');
    const flipped = Buffer.from(id);
    flipped[0] = flipped[0]! ^ 0xff;
    if (replaceAll(other, id.toString('latin1'), flipped.toString('latin1')) !== 1) throw new Error('build-id bytes not found once');
    ctxCase(
      'duplicate-symbol',
      'a payload symbol a loaded payload added',
      't',
      other,
      [{ name: 'first', file: normalFile }],
      'func_normal as first, then func_normal with another build-id: same symbols',
    );
    const mine = loadedPayloadInfo('t', model).symbols;
    const xenNames = new Set(syms.filter((s) => /^[TD]$/.test(s.type) && /^[a-z_][a-z0-9_]*$/.test(s.name)).map((s) => s.name));
    let done = false;
    for (const m of mine) {
      const theirs = [...xenNames].find((n) => n.length === m.length);
      if (!theirs) continue;
      const renamed = Buffer.from(normal);
      if (replaceAll(renamed, `\0${m}\0`, `\0${theirs}\0`) < 1) continue;
      ctxCase(
        'duplicate-symbol',
        `a payload symbol Xen has (${m} renamed ${theirs})`,
        't',
        renamed,
        [],
        `symbol ${m} renamed to the hypervisor's ${theirs}`,
      );
      done = true;
      break;
    }
    if (!done) throw new Error('no payload symbol of func_normal could be renamed to a hypervisor symbol of the same length');
    const unknown = Buffer.from(normal);
    replaceAll(unknown, '\0xen_extra_version\0', '\0xen_extra_versiox\0');
    ctxCase('undefined-symbol', 'an undefined symbol Xen lacks (xen_extra_versiox)', 't', unknown, [], 'the undefined symbol renamed');
    const byName = Buffer.from((await fixture('func_by_name', build)).bytes);
    if (replaceAll(byName, 'xen_extra_version\0', 'xen_extra_versiox\0') < 1)
      throw new Error('func_by_name has no function name to rename');
    ctxCase('func-unresolved', 'a function by name Xen lacks (xen_extra_versiox)', 't', byName, [], 'the function name string renamed');
    ctxCase(
      'xen-build-id-mismatch',
      'built for another hypervisor',
      't',
      (await fixture('func_normal', { ...build, xenBuildId: OTHER_XEN_BUILD_ID })).bytes,
      [],
      `func_normal built with xen_depends ${OTHER_XEN_BUILD_ID}`,
    );
  }

  // The other hypervisor's payloads: refused here in this version's order and words.
  const cross: CrossCase[] = [];
  {
    const forOther = Buffer.from((await fixture('func_normal', { ...build, xenBuildId: other.buildId })).bytes);
    const unknown = Buffer.from(forOther);
    if (replaceAll(unknown, '\0xen_extra_version\0', '\0xen_extra_versiox\0') < 1)
      throw new Error('func_normal has no xen_extra_version symbol to rename');
    const add = (id: string, title: string, name: string, bytes: Buffer, expect: CrossCase['expect']) =>
      cross.push({ id, title, name, file: st.write(`payloads/cross/${name}.livepatch`, bytes), builtFor: other.buildId, expect });
    add(
      'built-for-other-xen',
      `func_normal built for Xen ${other.target} (${other.buildId})`,
      'for_other',
      forOther,
      crossExpectations(target, 'for_other', xen, other.buildId).plain,
    );
    add(
      'built-for-other-xen-and-unknown-symbol',
      `func_normal built for Xen ${other.target}, needing a symbol this Xen lacks (xen_extra_versiox)`,
      'for_other_sym',
      unknown,
      crossExpectations(target, 'for_other_sym', xen, other.buildId).unknownSymbol,
    );
  }

  // xlp end to end: the README's example payloads (and a vetoing one), built for this hypervisor.
  const ex = (n: string) => join(REPO_ROOT, 'examples', 'payloads', `${n}.c`);
  const e2eBuilt = await buildPayloads(
    [
      { name: 'hello', sources: [ex('hello')], xenDepends: xen },
      { name: 'guarded', sources: [ex('guarded')], xenDepends: xen, depends: { on: 'hello' } },
      { name: 'cumulative', sources: [ex('cumulative')], xenDepends: xen },
      {
        name: 'veto',
        sources: [join(REPO_ROOT, 'scripts', 'xen-vm', 'suite', 'payloads', 'veto.c')],
        xenDepends: xen,
        depends: { on: 'hello' },
      },
      { name: 'bench', sources: [ex('cumulative')], xenDepends: xen },
    ],
    opts,
  );
  const e2e = {
    hello: st.payload('payloads/e2e/hello.livepatch', e2eBuilt.get('hello')!),
    guarded: st.payload('payloads/e2e/guarded.livepatch', e2eBuilt.get('guarded')!),
    cumulative: st.payload('payloads/e2e/cumulative.livepatch', e2eBuilt.get('cumulative')!),
    veto: st.payload('payloads/e2e/veto.livepatch', e2eBuilt.get('veto')!),
  };
  const benchPayload = st.payload('payloads/bench.livepatch', e2eBuilt.get('bench')!);

  // Distinct payloads (own build-id, renamed symbols) for the list longer than one LIST page.
  const base = readFileSync(e2eBuilt.get('cumulative')!.path);
  const variants: Buffer[] = [];
  for (let i = 0; i < BULK_PAYLOADS; i++) variants.push(Buffer.from(payloadVariant(base, i)));
  const bulk = {
    file: st.write('payloads/bulk.bin', Buffer.concat(variants)),
    sizes: variants.map((v) => v.length),
    names: variants.map((_, i) => `bulk_${String(i).padStart(4, '0')}`),
  };

  const plan: SuitePlan = {
    createdAt: new Date().toISOString(),
    target: { id: target.id, debian: target.debian.release, userland: target.userland },
    xen: facts,
    other,
    cross,
    pkg: { name: packed.name, version: packed.version, tarball: packed.tarball, tarballSha256: packed.tarballSha256 },
    parity: { payloads: parity, realSkips: realSkips(facts) },
    fixtures: cases,
    e2e,
    bulk,
    bench: { payload: benchPayload, iterations: { call: 200, process: 15, action: 10, cli: 5 } },
    sections: options.sections ?? [...SECTIONS],
  };
  writeFileSync(join(stage, 'plan.json'), `${JSON.stringify(plan, null, 2)}\n`);
  lap('stageSec', t0);
  log(
    `staged ${Object.keys(parity).length} parity payloads, ${cases.length} preflight cases, ${cross.length} cross-version cases, ${BULK_PAYLOADS} list payloads, the package ${packed.name}@${packed.version}`,
  );
  return { stage, plan, fetched, packed, timings };
}
