#!/usr/bin/node
// WANT_JSON
//
// xen_livepatch.xlp.livepatch: converge one Xen host's live patches with `xlp`.
//
//   state: synced   install `payloads` (files on the target, or directories: their *.livepatch
//                   files at any depth) into xlp's store, then `xlp sync`: the running Xen
//                   build's installed patches applied, in their stack order
//   state: absent   `xlp uninstall name` for every Xen build that has it (or xen_build_id's),
//                   then `xlp sync` (the patch is reverted and unloaded)
//
// Options: state (synced|absent, default synced), payloads (list of absolute paths on the
// target), name, xen_build_id (absent: which build's copy), with_dependants (absent: also the
// patches built on it), replace_installed (bool),
// prune (bool: `xlp sync --prune`, may revert/unload payloads other tools loaded),
// xlp_path (default "xlp", looked up on PATH), state_dir (xlp --state-dir).
// Documentation: livepatch.yml beside this file (what ansible-doc shows), README.md of the collection.
//
// Why Node and not Python: the target runs Node >= 20.19 for xlp anyway, so a Node module adds
// nothing to install there (no Python). Ansible runs a module that is not Python and contains
// the marker above as `<interpreter> <module> <args-file>` (the "WANT_JSON" protocol), taking
// the interpreter from this file's first line; `ansible_node_interpreter` overrides it. The
// line names /usr/bin/node, not `/usr/bin/env node`: ansible-core 2.17.1 and later cannot run
// an interpreter given through env (ansible/ansible#83603).
//
// Ansible copies this one file to the target, so it imports nothing of its own and only uses
// dynamic import(): the file then runs alike as CommonJS (on the target) and as an ES module
// (inside the project, whose package.json says "type": "module").
//
// Ansible judges the result by the JSON printed on stdout, never by the exit code: a failure is
// `"failed": true` with a `msg`; everything the module prints is one JSON object.

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
  state: { type: 'string', choices: ['synced', 'absent'], default: 'synced' },
  payloads: { type: 'list', default: [] },
  name: { type: 'string' },
  xen_build_id: { type: 'string' },
  with_dependants: { type: 'bool', default: false },
  replace_installed: { type: 'bool', default: false },
  prune: { type: 'bool', default: false },
  xlp_path: { type: 'string', default: 'xlp' },
  state_dir: { type: 'string' },
};

async function converge(args) {
  const o = parseOptions(args, OPTIONS);
  const check = args._ansible_check_mode === true;
  const path = await import('node:path');
  if (o.state === 'synced') {
    if (o.name || o.xen_build_id || o.with_dependants)
      throw new ModuleFailure('state=synced takes payloads, not name/xen_build_id/with_dependants (those are for state=absent)');
    if (!o.payloads.length)
      throw new ModuleFailure('state=synced needs payloads: the payload files (on the target) to install for this host');
    const relative = o.payloads.filter((p) => !path.isAbsolute(p));
    if (relative.length) throw new ModuleFailure(`payloads must be absolute paths on the target: ${relative.join(', ')}`);
    o.payloads = await payloadFiles(o.payloads);
  } else {
    if (!o.name) throw new ModuleFailure('state=absent needs name: the installed patch to remove');
    if (o.payloads.length) throw new ModuleFailure('state=absent takes name, not payloads');
  }
  const common = o.state_dir ? ['--state-dir', o.state_dir] : [];
  const xlp = (...a) => runXlp(o.xlp_path, [...a, ...common]);
  const syncArgs = ['sync', ...(o.prune ? ['--prune'] : [])];
  // The store change, against xlp's state directory or (check mode) a scratch copy of it.
  const changeStore = async (stateArgs) => {
    if (o.state === 'synced')
      return runXlp(o.xlp_path, ['install', ...(o.replace_installed ? ['--replace'] : []), ...o.payloads, ...stateArgs]);
    // Absent means absent for every Xen build, unless one is named: `xlp uninstall` alone takes
    // one build per call (the running one first), so a second run would still change something.
    const builds = o.xen_build_id ? [o.xen_build_id] : await buildsWith(o.xlp_path, o.name, stateArgs);
    const removed = [];
    for (const xen of builds) {
      const r = await runXlp(o.xlp_path, [
        'uninstall',
        o.name,
        '--xen-build-id',
        xen,
        ...(o.with_dependants ? ['--with-dependants'] : []),
        ...stateArgs,
      ]);
      for (const name of Array.isArray(r.removed) ? r.removed : []) removed.push({ name, xenBuildId: xen });
    }
    return { name: o.name, removed, changed: removed.length > 0 };
  };

  let store;
  let sync;
  if (check) {
    // Check mode runs this module too (Ansible cannot skip a non-Python module): nothing may
    // change. `xlp sync --dry-run` plans from the installed store, so the store change is made
    // in a scratch copy of xlp's state directory and the plan is asked against that copy.
    ({ store, sync } = await inScratchCopy(o.xlp_path, common, async (scratch) => {
      const s = await changeStore(['--state-dir', scratch]);
      const plan = await runXlp(o.xlp_path, [...syncArgs, '--dry-run', '--state-dir', scratch]);
      return { store: s, sync: plan };
    }));
  } else {
    store = await changeStore(common);
    try {
      sync = await xlp(...syncArgs);
    } catch (error) {
      if (error instanceof ModuleFailure) {
        error.fields.store = store;
        if (o.state === 'synced') await undoInstall(xlp, store, error);
        // Say what the host is left with: the stack after the failed sync, as xlp now sees it.
        try {
          const status = await xlp('status');
          error.fields.after = stackNames(status.stack && status.stack.applied);
        } catch {
          // The failure itself is what the operator needs; a status that also fails adds nothing.
        }
      }
      throw error;
    }
  }

  const before = stackNames(sync.before);
  const after = stackNames(sync.after);
  const result = {
    changed: Boolean(store.changed) || Boolean(sync.changed),
    before,
    after,
    xen_build_id: sync.xenBuildId,
    xen_version: sync.xenVersion,
    drift: sync.drift,
  };
  if (o.state === 'synced') result.installed = store.installed;
  else result.uninstalled = store;
  if (check) result.plan = sync.plan;
  else result.steps = sync.steps;
  if (args._ansible_diff === true) {
    result.diff = {
      before_header: `applied stack (Xen ${sync.xenBuildId})`,
      after_header: `applied stack (Xen ${sync.xenBuildId})${check ? ', planned' : ''}`,
      before: before.map((n) => `${n}\n`).join(''),
      after: after.map((n) => `${n}\n`).join(''),
    };
  }
  return result;
}

/** The Xen builds for which a patch of this name is installed (`xlp list --installed`). */
async function buildsWith(xlpPath, name, stateArgs) {
  const list = await runXlp(xlpPath, ['list', '--installed', ...stateArgs]);
  const builds = Array.isArray(list.builds) ? list.builds : [];
  return builds.filter((b) => Array.isArray(b.patches) && b.patches.some((p) => p && p.name === name)).map((b) => b.xenBuildId);
}

/**
 * After a failed sync, uninstalls what this task newly installed, last first, so the host is left
 * as it was: a patch its own host refused must not be applied by the next `xlp sync --boot`.
 * Patches whose bytes replaced installed ones (replace_installed) cannot be put back; the
 * message says so. Appends what was done to the failure's message.
 */
async function undoInstall(xlp, store, failure) {
  const added = (Array.isArray(store.installed) ? store.installed : []).filter((p) => p && p.outcome === 'installed');
  const notes = [];
  for (const p of [...added].reverse()) {
    try {
      await xlp('uninstall', p.name, '--xen-build-id', p.xenBuildId);
      notes.push(`${p.name} (for Xen build ${p.xenBuildId}) was uninstalled again`);
    } catch (error) {
      notes.push(`${p.name} (for Xen build ${p.xenBuildId}) could not be uninstalled again (${error.message})`);
    }
  }
  const replaced = (Array.isArray(store.installed) ? store.installed : []).filter((p) => p && p.outcome === 'replaced');
  if (replaced.length) notes.push(`replaced installed copies stay: ${replaced.map((p) => p.name).join(', ')}`);
  failure.fields.undone = notes;
  failure.message = notes.length ? `${failure.message}; ${notes.join('; ')}` : failure.message;
  return failure.message;
}

/**
 * The payload files named: a file as it is (xlp reports a missing one), a directory as every
 * `*.livepatch` file under it, sorted, so one task can hand over the payloads of several Xen
 * builds kept side by side (`<dir>/<build>/<name>.livepatch`).
 */
async function payloadFiles(paths) {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const files = [];
  for (const p of paths) {
    const st = await fs.stat(p).catch(() => null);
    if (!st || !st.isDirectory()) {
      files.push(p);
      continue;
    }
    const found = (await fs.readdir(p, { recursive: true }))
      .filter((f) => f.endsWith('.livepatch'))
      .sort()
      .map((f) => path.join(p, f));
    if (!found.length) throw new ModuleFailure(`payloads: the directory ${p} holds no *.livepatch file`);
    files.push(...found);
  }
  return files;
}

/** Runs `fn` with a private copy of xlp's state directory, removed afterwards. */
async function inScratchCopy(xlpPath, common, fn) {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const info = await runXlp(xlpPath, ['info', ...common]);
  if (typeof info.stateDir !== 'string') throw new ModuleFailure('`xlp info` did not name its state directory');
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'xlp-ansible-check-'));
  const scratch = path.join(root, 'state');
  try {
    // The host lock is left behind: the copy belongs to this process alone.
    await fs
      .cp(info.stateDir, scratch, { recursive: true, filter: (src) => path.relative(info.stateDir, src) !== 'lock' })
      .catch((error) => {
        if (error.code !== 'ENOENT') throw error; // no state yet: the copy starts empty
      });
    await fs.mkdir(scratch, { recursive: true, mode: 0o700 });
    await fs.chmod(scratch, 0o700);
    return await fn(scratch);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

moduleMain(converge);
