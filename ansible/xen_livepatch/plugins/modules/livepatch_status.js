#!/usr/bin/node
// WANT_JSON
//
// xen_livepatch.xlp.livepatch_status: report a Xen host's live patches (`xlp status --json`)
// for audits, without changing anything (changed is always false, check mode included).
//
// Options: xlp_path (default "xlp", looked up on PATH), state_dir (xlp --state-dir).
// Returns: xen_build_id, xen_version, applied (names, bottom first), installed, drift, in_sync
// (no drift), status (the whole `xlp status --json` answer) and the same as the fact
// `xen_livepatch`.
// Documentation: livepatch_status.yml beside this file (what ansible-doc shows), README.md of the collection.
//
// Written in Node for the reasons given in livepatch.js (the target runs Node for xlp anyway;
// the interpreter line is /usr/bin/node because ansible-core >= 2.17.1 cannot run `env node`).
// Ansible copies this one file to the target, so it imports nothing of its own and only uses
// dynamic import(), which runs alike as CommonJS and as an ES module.

// ---- shared: xlp runner and module protocol (identical in livepatch.js and livepatch_status.js;
// ---- test/ansible/module.test.ts keeps them equal)
async function moduleMain(body) {
  const fs = await import('node:fs');
  let result;
  try {
    const argsFile = process.argv[2];
    if (!argsFile) throw new ModuleFailure('no arguments file: Ansible runs this module as `node <module> <args-file>`');
    let args;
    try {
      args = JSON.parse(fs.readFileSync(argsFile, 'utf8'));
    } catch (error) {
      throw new ModuleFailure(`cannot read the module arguments from ${argsFile}: ${error.message}`);
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args))
      throw new ModuleFailure('the module arguments are not a JSON object');
    result = await body(args);
  } catch (error) {
    result =
      error instanceof ModuleFailure
        ? { failed: true, changed: false, msg: error.message, ...error.fields }
        : {
            failed: true,
            changed: false,
            msg: `internal error in the module (please report it): ${error && error.stack ? error.stack : String(error)}`,
          };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.failed ? 1 : 0;
}

class ModuleFailure extends Error {
  constructor(message, fields = {}) {
    super(message);
    this.fields = fields;
  }
}

/**
 * Splits the arguments Ansible sent into the module's own (checked against `spec`) and the
 * controller's `_ansible_*` ones. Those differ between versions (2.19 adds some, drops others):
 * unknown ones are ignored, but an unknown option of the module's own is an error.
 */
function parseOptions(args, spec) {
  const options = {};
  const unknown = [];
  for (const [key, value] of Object.entries(args)) {
    if (key.startsWith('_ansible_')) continue;
    if (!Object.hasOwn(spec, key)) unknown.push(key);
  }
  if (unknown.length) throw new ModuleFailure(`unsupported option(s): ${unknown.join(', ')}; supported: ${Object.keys(spec).join(', ')}`);
  for (const [key, { type, choices, default: fallback }] of Object.entries(spec)) {
    let value = args[key];
    if (value === undefined || value === null) {
      options[key] = fallback;
      continue;
    }
    if (type === 'bool') {
      // Ansible sends booleans as JSON booleans; YAML-ish strings come from `key=value` task syntax.
      if (typeof value === 'string' && /^(yes|true|on|1)$/i.test(value)) value = true;
      else if (typeof value === 'string' && /^(no|false|off|0)$/i.test(value)) value = false;
      if (typeof value !== 'boolean') throw new ModuleFailure(`option ${key}: expected a boolean, got ${JSON.stringify(value)}`);
    } else if (type === 'list') {
      if (typeof value === 'string')
        value = value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === ''))
        throw new ModuleFailure(`option ${key}: expected a list of non-empty strings, got ${JSON.stringify(value)}`);
    } else if (typeof value !== 'string' || value === '') {
      throw new ModuleFailure(`option ${key}: expected a non-empty string, got ${JSON.stringify(value)}`);
    }
    if (choices && !choices.includes(value))
      throw new ModuleFailure(`option ${key}: ${JSON.stringify(value)} is not one of ${choices.join(', ')}`);
    options[key] = value;
  }
  return options;
}

/**
 * Runs `xlp ARGS --json` and returns its JSON answer. Every way this can go wrong becomes a
 * ModuleFailure whose message says what to do: xlp missing or not executable, an answer that is
 * not JSON (an xlp too old for the command, a node too old for xlp), or xlp's own documented
 * `{"error": ...}` (then the message carries its code, errno, hook, rc and console lines).
 */
async function runXlp(xlpPath, args) {
  const { execFile } = await import('node:child_process');
  const argv = [...args, '--json'];
  const command = `xlp ${args.filter((a) => !a.startsWith('/')).join(' ')}`.trim();
  const { error, stdout, stderr } = await new Promise((resolve) => {
    execFile(xlpPath, argv, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ error, stdout, stderr }),
    );
  });
  if (error && typeof error.code === 'string') {
    if (error.code === 'ENOENT') {
      const where = xlpPath.includes('/')
        ? `${xlpPath} does not exist`
        : `"${xlpPath}" is not on the target's PATH (${process.env.PATH || 'PATH is empty'})`;
      throw new ModuleFailure(
        `xlp not found: ${where}. The target needs xen-livepatch installed (npm install -g xen-livepatch, Node >= 20.19), or set the module option xlp_path to its xlp.`,
        { xlp_path: xlpPath },
      );
    }
    if (error.code === 'EACCES')
      throw new ModuleFailure(`xlp cannot be run: ${xlpPath} is not executable by this user (EACCES)`, { xlp_path: xlpPath });
    throw new ModuleFailure(`xlp could not be started (${xlpPath}): ${error.message}`, { xlp_path: xlpPath });
  }
  const rc = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
  let answer;
  try {
    answer = JSON.parse(stdout);
  } catch {
    const said = (stderr || stdout || '').trim().split('\n').slice(-5).join(' | ');
    throw new ModuleFailure(
      `\`${command}\` did not answer in JSON (exit ${rc}): ${said || 'no output'}. The target needs xen-livepatch with the install/sync/status commands, run by Node >= 20.19.`,
      { rc, stdout, stderr },
    );
  }
  if (answer && typeof answer === 'object' && answer.error && typeof answer.error === 'object') {
    throw new ModuleFailure(describeXlpError(command, rc, answer.error), { rc, error: answer.error, stderr });
  }
  if (rc !== 0) throw new ModuleFailure(`\`${command}\` exited ${rc} without an error object: ${stdout.trim()}`, { rc, stdout, stderr });
  return answer;
}

/** One line with everything of xlp's error object an operator needs to act on a failure. */
function describeXlpError(command, rc, e) {
  const facts = [e.kind, e.code];
  if (typeof e.errno === 'number') facts.push(`errno ${e.errno}`);
  if (e.payload) facts.push(`payload ${e.payload}`);
  if (e.hook) facts.push(`hook ${e.hook}`);
  if (typeof e.rc === 'number') facts.push(`rc ${e.rc}`);
  const lead = rc === 3 ? 'Xen is not available on this host: ' : '';
  let msg = `${lead}\`${command}\` failed (exit ${rc}; ${facts.filter(Boolean).join(', ')}): ${e.message}`;
  if (Array.isArray(e.notes) && e.notes.length) msg += `; ${e.notes.join('; ')}`;
  if (Array.isArray(e.console) && e.console.length) msg += `; console: ${e.console.join(' | ')}`;
  return msg;
}

/** Names of a stack as xlp reports it (a list of names, or of objects with a name). */
function stackNames(stack) {
  if (!Array.isArray(stack)) return [];
  return stack.map((p) => (typeof p === 'string' ? p : p && typeof p.name === 'string' ? p.name : String(p)));
}
// ---- end shared

const OPTIONS = {
  xlp_path: { type: 'string', default: 'xlp' },
  state_dir: { type: 'string' },
};

async function report(args) {
  const o = parseOptions(args, OPTIONS);
  const status = await runXlp(o.xlp_path, ['status', ...(o.state_dir ? ['--state-dir', o.state_dir] : [])]);
  const drift = status.drift || {};
  const inSync =
    !(drift.installedNotApplied && drift.installedNotApplied.length) &&
    !(drift.appliedNotInstalled && drift.appliedNotInstalled.length) &&
    !drift.orderDiffers;
  const facts = {
    xen_build_id: status.xen && status.xen.buildId,
    xen_version: status.xen && status.xen.version,
    applied: stackNames(status.stack && status.stack.applied),
    installed: status.installed,
    drift,
    in_sync: inSync,
    status,
  };
  return { changed: false, ...facts, ansible_facts: { xen_livepatch: facts } };
}

moduleMain(report);
