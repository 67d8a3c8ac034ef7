/** The boot sync's kill switches, and the unit `xlp boot enable` writes (verified by systemd itself). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOOT_UNIT_NAME, BootUnitError, bootUnitText } from '../../lib/lifecycle/boot-unit.js';
import { kernelCommandLineWords, readKillSwitch } from '../../lib/lifecycle/kill-switch.js';
import { scratchDir } from '../support/scratch.js';

describe('kill switches', () => {
  it('splits the kernel command line as the kernel does', () => {
    expect(kernelCommandLineWords(' ro  quiet a="b c" xen-livepatch.enable=0\n')).toEqual([
      'ro',
      'quiet',
      'a=b c',
      'xen-livepatch.enable=0',
    ]);
    expect(kernelCommandLineWords('x="xen-livepatch.enable=0 y"')).toEqual(['x=xen-livepatch.enable=0 y']);
  });

  it('the file, then the command line word, engage it and say why; neither: it is off', async () => {
    const d = scratchDir('xlp-kill-');
    const cmdlineFile = join(d, 'cmdline');
    const disableFile = join(d, 'disable');
    writeFileSync(cmdlineFile, 'root=/dev/xvda1 ro quiet\n');
    expect(await readKillSwitch({ cmdlineFile, disableFile })).toEqual({ engaged: false });
    writeFileSync(cmdlineFile, 'root=/dev/xvda1 xen-livepatch.enable=0 quiet\n');
    expect(await readKillSwitch({ cmdlineFile, disableFile })).toMatchObject({
      engaged: true,
      by: 'cmdline',
      reason: expect.stringContaining('xen-livepatch.enable=0'),
    });
    // A word that merely contains it does not count.
    writeFileSync(cmdlineFile, 'xen-livepatch.enable=01 foo.xen-livepatch.enable=0\n');
    expect((await readKillSwitch({ cmdlineFile, disableFile })).engaged).toBe(false);
    writeFileSync(disableFile, '');
    expect(await readKillSwitch({ cmdlineFile, disableFile })).toEqual({ engaged: true, by: 'file', reason: `${disableFile} exists` });
  });

  it('an unreadable command line counts as engaged (not patching is the safe side)', async () => {
    const d = scratchDir('xlp-kill-');
    expect(await readKillSwitch({ cmdlineFile: join(d, 'absent'), disableFile: join(d, 'disable') })).toMatchObject({
      engaged: true,
      by: 'cmdline',
      reason: expect.stringContaining('cannot be read'),
    });
  });
});

describe('boot unit', () => {
  it('is a unit systemd-analyze verify accepts, running this node and xlp with sync --boot', () => {
    const d = scratchDir('xlp-unit-');
    const bin = join(d, 'bin');
    mkdirSync(bin);
    const xlp = join(bin, 'xlp.js');
    writeFileSync(xlp, '');
    const text = bootUnitText({ node: process.execPath, xlp });
    expect(text).toContain(`ExecStart=${process.execPath} ${xlp} sync --boot`);
    expect(text).toContain('ConditionKernelCommandLine=!xen-livepatch.enable=0');
    expect(text).toContain('ConditionPathExists=!/etc/xen-livepatch/disable');
    expect(text).toMatch(/^Type=oneshot$/m);
    expect(text).toMatch(/^RemainAfterExit=yes$/m);
    expect(text).not.toMatch(/^ExecStop/m);
    const unit = join(d, BOOT_UNIT_NAME);
    writeFileSync(unit, text);
    // verify exits non-zero on any problem it finds in the unit (bad settings, missing executables).
    execFileSync('systemd-analyze', ['verify', '--man=no', unit], { stdio: 'pipe', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } });
  });

  it('systemd-analyze verify rejects a unit whose executable does not exist (the check can fail)', () => {
    const d = scratchDir('xlp-unit-');
    const unit = join(d, BOOT_UNIT_NAME);
    writeFileSync(unit, bootUnitText({ node: join(d, 'no-such-node'), xlp: join(d, 'xlp.js') }));
    expect(() => execFileSync('systemd-analyze', ['verify', '--man=no', unit], { stdio: 'pipe' })).toThrow();
  });

  it('refuses relative paths and paths a unit cannot carry', () => {
    expect(() => bootUnitText({ node: 'node', xlp: '/x/xlp.js' })).toThrow(BootUnitError);
    expect(() => bootUnitText({ node: '/usr/bin/node', xlp: '/x/"evil".js' })).toThrow(/quote/);
    expect(() => bootUnitText({ node: '/usr/bin/node', xlp: '/x/a\nExecStart=/bin/sh' })).toThrow(BootUnitError);
  });
});
