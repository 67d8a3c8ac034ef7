/**
 * native/xen_abi.h against the real <xenctrl.h>, of both Debian releases the project is proven on:
 * - Debian 12's (Xen 4.17, the 4.14-4.18 generation), which CI installs as libxen-dev;
 * - Debian 13's (Xen 4.20, the 4.19-4.20 generation: the five-argument upload), its libxen-dev
 *   downloaded with a private apt tree and unpacked into the cache, never installed
 *   (scripts/xen-vm/fetch.ts, as the real-hypervisor suite gets Debian 13's packages).
 * A machine without the header (or without the Debian archive, for Debian 13's) fails here unless
 * XLP_SKIP_ABI_CHECK=1 says that is intended.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, workDir } from '../support/paths.js';
import { fetchPackage } from '../../../scripts/xen-vm/fetch.js';
import { XEN_TARGETS } from '../../../scripts/xen-vm/targets.js';
import { libxenctrlGeneration, parseXenVersion, sysctlInterfaceVersion } from '../../../lib/xen/version.js';

const HEADER = '/usr/include/xenctrl.h';
const SOURCE = join(ROOT, 'test', 'native', 'toolchain', 'abi_check.cc');
const OPTED_OUT = process.env.XLP_SKIP_ABI_CHECK === '1';
const PRESENT = existsSync(HEADER);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function compile(extra: string[]): { ok: boolean; output: string; binary: string } {
  const dir = workDir('abi');
  dirs.push(dir);
  const binary = join(dir, 'abi_check');
  const r = spawnSync('g++', ['-std=gnu++17', '-Wall', '-Wextra', '-Werror', `-I${join(ROOT, 'native')}`, ...extra, SOURCE, '-o', binary], {
    encoding: 'utf8',
  });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`, binary };
}

function debianPackageVersion(): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'libxen-dev'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

describe('the ABI header', () => {
  it.skipIf(!PRESENT && OPTED_OUT)('matches the real xenctrl.h in every prototype, layout and constant', () => {
    if (!PRESENT) {
      throw new Error(`${HEADER} is missing: install libxen-dev (apt-get install libxen-dev) or set XLP_SKIP_ABI_CHECK=1 to skip this check`);
    }
    const version = debianPackageVersion();
    // Debian's 4.17 must be checked against the 4.14-4.18 prototypes, not merely "one of them".
    const expect414 = version !== null && /^4\.1[4-8]\./.test(version);
    const r = compile(expect414 ? ['-DXLP_ABI_EXPECT_GEN414'] : []);
    expect(r.ok, r.output).toBe(true);
    const run = spawnSync(r.binary, { encoding: 'utf8' });
    expect(run.status).toBe(0);
    console.log(`ABI check: xen_abi.h matches ${HEADER} (libxen-dev ${version ?? 'unknown'}, generation ${run.stdout.trim()})`);
    if (expect414) expect(run.stdout.trim()).toBe('4.14-4.18');
  });

  it.skipIf(OPTED_OUT)("matches Debian 13's xenctrl.h (Xen 4.20): the 4.19-4.20 generation, sysctl interface 0x15", () => {
    const trixie = XEN_TARGETS['4.20'];
    const dev = fetchPackage(trixie, 'libxen-dev');
    const include = join(dev.root, 'usr', 'include');
    expect(existsSync(join(include, 'xenctrl.h')), `${include}/xenctrl.h`).toBe(true);
    const v = parseXenVersion(trixie.id);
    const r = compile([`-I${include}`, '-DXLP_ABI_EXPECT_GEN419', `-DXLP_ABI_EXPECT_SYSCTL_INTERFACE=0x${sysctlInterfaceVersion(v)!.toString(16)}`]);
    expect(r.ok, r.output).toBe(true);
    const run = spawnSync(r.binary, { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe('4.19+');
    expect(libxenctrlGeneration(v)).toBe('4.19-4.20');
    // The check tells the generations apart: this header is not 4.17's.
    const wrong = compile([`-I${include}`, '-DXLP_ABI_EXPECT_GEN414']);
    expect(wrong.ok).toBe(false);
    expect(wrong.output).toContain('expected the 4.14-4.18 xc_livepatch_upload');
    console.log(`ABI check: xen_abi.h matches Debian ${trixie.debian.release}'s xenctrl.h (libxen-dev ${dev.version}, generation ${run.stdout.trim()})`);
  });

  it.skipIf(!PRESENT && OPTED_OUT)('fails to compile when a prototype does not match', () => {
    if (!PRESENT) throw new Error(`${HEADER} is missing (see above)`);
    const r = compile(['-DXLP_ABI_SELFTEST_MISMATCH']);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('ABI self-test: a mismatch was detected');
  });
});
