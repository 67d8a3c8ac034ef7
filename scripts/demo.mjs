#!/usr/bin/env node
// `npm run demo`: the main job, on the mock hypervisor, with the payloads shipped in examples/.
// Each step runs the real `xlp` command line and checks the exit code it documents.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const xlp = join(root, 'bin', 'xlp.js');
const payload = (name) => relative(process.cwd(), join(root, 'examples', 'payloads', `${name}.livepatch`));
const scratch = mkdtempSync(join(tmpdir(), 'xlp-demo-'));
// The simulator in a directory of its own (`mock init` refuses one holding other files, such as this script's log).
const state = join(scratch, 'mock');
const env = { ...process.env, XLP_BACKEND: 'mock', XLP_MOCK_STATE: state, NO_COLOR: '1' };
let failures = 0;

function xlp_(args, expect, why) {
  console.log(`\n# ${why}`);
  console.log(`$ xlp ${args.join(' ')}`);
  // stdout and stderr share one file so the lines keep the order in which xlp wrote them.
  const log = join(scratch, 'output.txt');
  const fd = openSync(log, 'w');
  const r = spawnSync(process.execPath, [xlp, ...args], { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const text = readFileSync(log, 'utf8').trimEnd();
  if (text) console.log(text.replace(/^/gm, '  '));
  if (r.status !== expect) {
    failures++;
    console.log(`  !! expected exit code ${expect}, got ${r.status}`);
  } else if (expect !== 0) {
    console.log(`  (exit code ${r.status}, as documented)`);
  }
}

console.log(`xen-livepatch demo on the mock hypervisor (state in ${state})`);
xlp_(['mock', 'init', '--loglvl', 'all'], 0, 'create a simulated Xen 4.17 hypervisor that shows every console line');
xlp_(['info'], 0, 'which hypervisor are we talking to');
xlp_(['check', payload('guarded')], 0, 'preflight a payload before anything touches the hypervisor');
xlp_(['load', payload('hello')], 0, 'upload and apply a payload with load/unload hooks');
xlp_(['mock', 'hook', 'guarded', 'preapply', '--rc', '-22'], 0, "script the mock: guarded's pre-apply hook will refuse with -EINVAL");
xlp_(['load', payload('guarded')], 4, 'a vetoing hook says no: exit 4, the console line explains, and the payload is unloaded again');
xlp_(['mock', 'hook', 'guarded', 'preapply', '--rc', '0'], 0, 'let the hook agree this time');
xlp_(['load', payload('guarded')], 0, "load it on top of hello (its .livepatch.depends is hello's build-id)");
xlp_(['stack'], 0, "the applied stack, from the hypervisor's own x dump");
xlp_(['upload', 'cumulative', payload('cumulative')], 0, 'upload a cumulative payload meant to replace the stack');
xlp_(
  ['replace', 'cumulative'],
  1,
  'Xen refuses an atomic REPLACE while a payload with vetoing hooks is applied: said before any hypercall',
);
xlp_(['replace', 'cumulative', '--sequential', '--dry-run'], 0, 'the sequential plan: revert top-first with every hook, then apply');
xlp_(['replace', 'cumulative', '--sequential'], 0, 'do it');
xlp_(['stack'], 0, 'only the cumulative payload remains applied');
xlp_(['list'], 0, 'every payload, as the C tool would list them');
xlp_(['log', 'guarded'], 0, "the hypervisor's console lines about guarded");

rmSync(scratch, { recursive: true, force: true });
console.log(failures ? `\ndemo: ${failures} step(s) did not behave as documented` : '\ndemo: every step behaved as documented');
process.exit(failures ? 1 : 0);
