/**
 * The collection's modules run the way Ansible runs a WANT_JSON module (`node <module> <args>`,
 * the file copied as AnsiballZ_<name>.js into a directory of its own), without Ansible: their
 * argument handling and failures. The fleet suite (`npm run test:ansible`) runs them through
 * ansible-playbook.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { ROOT } from '../cli/support/xlp.js';

const run = promisify(execFile);
const MODULES = join(ROOT, 'ansible', 'xen_livepatch', 'plugins', 'modules');

// What ansible-core 2.19.11 sends besides the module's own options (2.14 sends most of these and
// `_ansible_string_conversion_action`): see the Ansible part of the lifecycle reference.
const ANSIBLE_219_INTERNALS = {
  _ansible_check_mode: false,
  _ansible_no_log: false,
  _ansible_debug: false,
  _ansible_diff: false,
  _ansible_verbosity: 0,
  _ansible_version: '2.19.11',
  _ansible_module_name: 'xen_livepatch.xlp.livepatch',
  _ansible_syslog_facility: 'LOG_USER',
  _ansible_selinux_special_fs: ['fuse', 'nfs'],
  _ansible_shell_executable: '/bin/sh',
  _ansible_socket: null,
  _ansible_tmpdir: '/tmp/x',
  _ansible_remote_tmp: '~/.ansible/tmp',
  _ansible_keep_remote_files: false,
  _ansible_ignore_unknown_opts: false,
  _ansible_target_log_info: null,
  _ansible_tracebacks_for: [],
};

interface Result {
  exit: number;
  out: Record<string, unknown>;
}

/** Runs a module as Ansible does: copied alone into a directory, given an arguments file. */
async function runModule(
  module: 'livepatch' | 'livepatch_status',
  args: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Result> {
  const dir = scratchDir('xlp-module-');
  const file = join(dir, `AnsiballZ_${module}.js`);
  copyFileSync(join(MODULES, `${module}.js`), file);
  writeFileSync(join(dir, 'args'), JSON.stringify(args));
  const r = await run(process.execPath, [file, join(dir, 'args')], { env }).catch(
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  const stdout = 'stdout' in r ? r.stdout : '';
  // Exactly one JSON object on stdout, nothing on stderr: that is all Ansible reads.
  expect(stdout.trim().split('\n')).toHaveLength(1);
  expect('stderr' in r ? r.stderr : '').toBe('');
  return { exit: 'code' in r && typeof r.code === 'number' ? r.code : 0, out: JSON.parse(stdout) as Record<string, unknown> };
}

describe('the livepatch modules, run as Ansible runs them', () => {
  test('both keep the shared runner identical (a module cannot import it: Ansible ships one file)', () => {
    const shared = (m: string) => {
      const text = readFileSync(join(MODULES, `${m}.js`), 'utf8');
      const start = text.indexOf('// ---- shared:');
      const end = text.indexOf('// ---- end shared');
      expect(start).toBeGreaterThan(0);
      expect(end).toBeGreaterThan(start);
      return text.slice(start, end);
    };
    expect(shared('livepatch_status')).toBe(shared('livepatch'));
  });

  test('the interpreter line and the WANT_JSON marker Ansible needs', () => {
    for (const m of ['livepatch', 'livepatch_status']) {
      const text = readFileSync(join(MODULES, `${m}.js`), 'utf8');
      // `#!/usr/bin/env node` fails on ansible-core >= 2.17.1 ("module interpreter ... not found").
      expect(text.split('\n')[0]).toBe('#!/usr/bin/node');
      expect(text).toContain('WANT_JSON');
    }
  });

  test('unknown _ansible_* arguments are ignored; an unknown option of the module is refused, naming the supported ones', async () => {
    const r = await runModule('livepatch', {
      ...ANSIBLE_219_INTERNALS,
      state: 'synced',
      payloads: ['/nonexistent/x.livepatch'],
      xlp_path: '/nonexistent/xlp',
      colour: 'blue',
    });
    expect(r.exit).toBe(1);
    expect(r.out).toMatchObject({ failed: true, changed: false });
    expect(r.out.msg).toBe(
      'unsupported option(s): colour; supported: state, payloads, name, xen_build_id, with_dependants, replace_installed, prune, xlp_path, state_dir',
    );
    const ok = await runModule('livepatch_status', { ...ANSIBLE_219_INTERNALS, _ansible_future_key: 1, xlp_path: '/nonexistent/xlp' });
    // Got past the arguments to the point of running xlp.
    expect(ok.out.msg).toBe(
      'xlp not found: /nonexistent/xlp does not exist. The target needs xen-livepatch installed (npm install -g xen-livepatch, Node >= 20.19), or set the module option xlp_path to its xlp.',
    );
  });

  test.each([
    [{ state: 'present', payloads: ['/x.livepatch'] }, 'option state: "present" is not one of synced, absent'],
    [{ state: 'synced' }, 'state=synced needs payloads: the payload files (on the target) to install for this host'],
    [{ state: 'synced', payloads: ['fix.livepatch'] }, 'payloads must be absolute paths on the target: fix.livepatch'],
    [
      { state: 'synced', payloads: ['/x.livepatch'], name: 'x' },
      'state=synced takes payloads, not name/xen_build_id/with_dependants (those are for state=absent)',
    ],
    [{ state: 'absent' }, 'state=absent needs name: the installed patch to remove'],
    [{ state: 'absent', name: 'x', prune: 'maybe' }, 'option prune: expected a boolean, got "maybe"'],
  ])('bad arguments %j: %s', async (args, msg) => {
    const r = await runModule('livepatch', { ...ANSIBLE_219_INTERNALS, ...args });
    expect(r.out).toEqual({ failed: true, changed: false, msg });
  });

  test('xlp missing from PATH: a failure saying what the target needs, not a stack trace', async () => {
    const env = { ...process.env, PATH: '/nonexistent-bin' };
    for (const m of ['livepatch', 'livepatch_status'] as const) {
      const r = await runModule(m, { ...ANSIBLE_219_INTERNALS, ...(m === 'livepatch' ? { state: 'absent', name: 'x' } : {}) }, env);
      expect(r.out).toEqual({
        failed: true,
        changed: false,
        xlp_path: 'xlp',
        msg: 'xlp not found: "xlp" is not on the target\'s PATH (/nonexistent-bin). The target needs xen-livepatch installed (npm install -g xen-livepatch, Node >= 20.19), or set the module option xlp_path to its xlp.',
      });
    }
  });

  test('an xlp that does not answer in JSON (too old, or run by a node too old for it) is named as such', async () => {
    const dir = scratchDir('xlp-fake-');
    const old = join(dir, 'xlp');
    writeFileSync(old, '#!/bin/sh\necho "SyntaxError: Unexpected token" >&2\nexit 1\n', { mode: 0o755 });
    const r = await runModule('livepatch_status', { ...ANSIBLE_219_INTERNALS, xlp_path: old });
    expect(r.out.msg).toBe(
      '`xlp status` did not answer in JSON (exit 1): SyntaxError: Unexpected token. The target needs xen-livepatch with the install/sync/status commands, run by Node >= 20.19.',
    );
  });

  test("the README's Fleet rollout section shows the playbook the fleet suite runs, as it is", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Fleet rollout'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)![1];
    expect(block).toBe(readFileSync(join(ROOT, 'docs', 'fleet', 'rollout.yml'), 'utf8'));
  });

  test('a payload directory without payloads is refused before xlp runs', async () => {
    const dir = scratchDir('xlp-empty-');
    const r = await runModule('livepatch', { ...ANSIBLE_219_INTERNALS, payloads: [dir], xlp_path: '/nonexistent/xlp' });
    expect(r.out.msg).toBe(`payloads: the directory ${dir} holds no *.livepatch file`);
  });
});
