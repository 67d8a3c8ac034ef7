import { isAbsolute } from 'node:path';
import { array, type Decoder, DecodeError, integer, matching, nullable, object } from '../../fs/decode.js';
import { sha256Hex as sha256Of } from '../../fs/lazy-crypto.js';
import { PrivateFileError, readPrivateFile } from '../../fs/private-file.js';
import { readPayload } from '../../payload/read-payload.js';
import type { Payload } from '../../payload/model.js';
import { type BuildIdHex, type HookKind, PAYLOAD_MAX_SIZE } from '../../xen/domain.js';
import { errnoMessage } from '../../xen/errno.js';
import { XenError } from '../../xen/errors.js';
import { failureOf, note, RefusedError, UploadFailedError } from '../errors.js';
import { type Journal, JournalCorruptError, type JournalStep } from '../journal.js';
import { applyStep, type HookInventory, type PlanStep, replaceStep, revertStep, simpleStep } from '../plan.js';
import { applyRestoring, restoreDiff, restoreStack } from '../restore.js';
import { type ActionResult, runAction } from '../run-action.js';
import type { StackView } from '../stack.js';
import { workflowName } from '../state-file.js';
import type { ActionRequest } from '../run-action.js';
import type { Workspace } from '../workspace.js';
import type { RecoverMode, WorkflowKind } from './types.js';

/**
 * `xlp sync`: the steps that make the applied stack equal a build's installed patches (the
 * planner in lib/lifecycle decides them; this file carries them out, journaled). Its journal's
 * `detail` records what recovery needs beyond the steps: where the installed copies to upload are
 * (with the SHA-256 that was verified, signature included, before the first step), and the
 * bytes of each payload of the original stack (to tell a rollback that would need a version the
 * sync replaced).
 *
 * Rollback restores the original applied stack and unloads what the sync uploaded; it is refused
 * before any hypercall when a payload of the original stack is gone and xlp has no copy of those
 * very bytes (a namesake the sync replaced, or another tool's payload pruned): `--complete` then
 * converges to the installed set instead. Completion takes the journal's steps that are not yet in
 * effect. Payloads the sync unloads keep their registry copy until the journal is closed, so that
 * a rollback can upload them again.
 */

/** One step of a sync, as the planner gives it. */
export interface SyncStepSpec {
  readonly action: 'REVERT' | 'UNLOAD' | 'UPLOAD' | 'APPLY' | 'REPLACE';
  readonly payload: string;
}

/** An installed copy to upload: its bytes, read and verified once, and the model read from them. */
export interface SyncUpload {
  readonly payload: string;
  readonly bytes: Uint8Array;
  readonly model: Payload;
  /** Where the store keeps it (absolute): recovery reads it from there. */
  readonly file: string;
  readonly sha256: string;
}

/** What a sync does, decided under the host lock from the stack it found. */
export interface SyncWork {
  /** The command line, for the journal. */
  readonly command: string;
  readonly xenBuildId: BuildIdHex;
  readonly steps: readonly SyncStepSpec[];
  /** The copy of each payload an UPLOAD step uploads. */
  readonly uploads: ReadonlyMap<string, SyncUpload>;
}

/** What xlp's record of an upload says about a loaded payload (for the planner). */
export interface XlpPayloadFacts {
  /** SHA-256 of the bytes xlp uploaded. */
  readonly sha256: string;
  /** Applied by xlp since that upload (a CHECKED payload with this set was reverted). */
  readonly appliedSinceUpload: boolean;
  readonly safeToReapply: boolean;
  readonly vetoingHooks: readonly HookKind[];
}

/** One step's outcome: a hypercall's result, or an upload. */
export type SyncStepResult =
  ActionResult | { readonly payload: string; readonly action: 'UPLOAD'; readonly outcome: 'done'; readonly bytes: number };

type SyncDetail = {
  readonly xenBuildId: string;
  readonly uploads: readonly { readonly payload: string; readonly file: string; readonly sha256: string; readonly size: number }[];
  /** The original applied stack, bottom first, with the SHA-256 of the bytes xlp uploaded (null: not uploaded by xlp). */
  readonly original: readonly { readonly name: string; readonly sha256: string | null }[];
};

const sha256Hex = matching(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex');
const detailDecoder: Decoder<SyncDetail> = object({
  xenBuildId: matching(/^(?:[0-9a-f]{2}){1,128}$/, 'a build-id in lowercase hex'),
  uploads: array(
    object({
      payload: workflowName,
      file: matching(/^\/[^\0]{1,4095}$/, 'an absolute path'),
      sha256: sha256Hex,
      size: integer(1, PAYLOAD_MAX_SIZE),
    }),
    4096,
  ),
  original: array(object({ name: workflowName, sha256: nullable(sha256Hex) }), 4096),
}) as Decoder<SyncDetail>;

function detailOf(ws: Workspace, journal: Journal): SyncDetail {
  try {
    const d = detailDecoder(journal.detail, 'the journal.detail');
    for (const u of d.uploads)
      if (!isAbsolute(u.file)) throw new DecodeError('the journal.detail.uploads', `absolute paths, not ${JSON.stringify(u.file)}`);
    return d;
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    throw new JournalCorruptError(
      ws.journal.path,
      'damaged',
      `the journal of \`${journal.command}\` is damaged: ${error.message}; inspect ` +
        `it, bring the hypervisor to the state you want by hand, then delete it`,
      { cause: error },
    );
  }
}

/** xlp's facts about every payload its registry holds, by name. */
export async function xlpPayloadFacts(ws: Workspace): Promise<(name: string) => XlpPayloadFacts | null> {
  const records = new Map((await ws.registry.all()).map((r) => [r.name, r]));
  return (name) => {
    const r = records.get(name);
    return r
      ? { sha256: r.sha256, appliedSinceUpload: r.appliedSeq !== undefined, safeToReapply: r.safeToReapply, vetoingHooks: r.vetoingHooks }
      : null;
  };
}

async function upload(ws: Workspace, name: string, bytes: Uint8Array, model: Payload): Promise<SyncStepResult> {
  ws.emit({ phase: 'uploading', payload: name, bytes: bytes.length });
  try {
    await ws.backend.upload(name, bytes);
  } catch (error) {
    if (!(error instanceof XenError)) throw error;
    throw new UploadFailedError(name, error.errno, `${errnoMessage(error.errno)} (${error.code}) while uploading the installed copy`, []);
  }
  await ws.registry.record(name, bytes, model);
  ws.emit({ phase: 'done', payload: name, action: 'UPLOAD', outcome: 'done', status: { state: 'CHECKED', rc: 0 }, bytes: bytes.length });
  return { payload: name, action: 'UPLOAD', outcome: 'done', bytes: bytes.length };
}

/** Reads an installed copy again for recovery, checked against the SHA-256 verified when the sync began. */
async function storedCopy(u: SyncDetail['uploads'][number]): Promise<{ bytes: Uint8Array; model: Payload }> {
  let data: Buffer | null;
  try {
    data = await readPrivateFile(u.file, { maxBytes: PAYLOAD_MAX_SIZE });
  } catch (error) {
    if (!(error instanceof PrivateFileError)) throw error;
    throw new RefusedError(
      `cannot upload ${JSON.stringify(u.payload)}: its ` + `installed copy ${u.file} cannot be read (${error.message})`,
      { payload: u.payload },
    );
  }
  if (!data || data.length !== u.size || sha256Of(data) !== u.sha256) {
    throw new RefusedError(
      `cannot upload ${JSON.stringify(u.payload)}: its installed copy ${u.file} ` +
        `is ${data ? 'not the bytes the sync verified' : 'gone'} (it was ` +
        `uninstalled or replaced since); run \`xlp recover\` to roll back instead`,
      { payload: u.payload },
    );
  }
  const model = readPayload(data).payload;
  if (!model)
    throw new RefusedError(`cannot upload ${JSON.stringify(u.payload)}: its installed copy ${u.file} is not a payload`, {
      payload: u.payload,
    });
  return { bytes: new Uint8Array(data.buffer, data.byteOffset, data.length), model };
}

async function runStep(
  ws: Workspace,
  step: SyncStepSpec,
  req: ActionRequest,
  bytesOf: (name: string) => Promise<{ bytes: Uint8Array; model: Payload }>,
): Promise<SyncStepResult[]> {
  switch (step.action) {
    case 'REVERT':
    case 'UNLOAD':
      return [await runAction(ws.context(), step.payload, step.action, req)];
    case 'UPLOAD': {
      const { bytes, model } = await bytesOf(step.payload);
      return [await upload(ws, step.payload, bytes, model)];
    }
    case 'APPLY':
      return applyRestoring(ws, step.payload, req);
    case 'REPLACE': {
      const { view } = await ws.stackForWorkflow();
      const others = view.applied.map((e) => e.name).filter((n) => n !== step.payload);
      const r = await runAction(ws.context(), step.payload, 'REPLACE', req, others);
      if (r.outcome === 'done') await ws.registry.markApplied(step.payload);
      return [r];
    }
  }
}

/** Registry copies of the payloads the sync unloaded, dropped once its journal is closed. */
async function forgetUnloaded(ws: Workspace, journal: Journal): Promise<void> {
  for (const s of journal.steps) {
    if (s.action === 'UNLOAD' && !(await ws.statusOrNull(s.payload))) await ws.registry.forget(s.payload);
  }
}

/**
 * Carries out a sync's steps, journaled (kind `sync`). A failed step rolls the stack back to what
 * it was (as `replace --sequential` does) and rethrows; when the rollback fails too, the journal
 * stays for `xlp recover`. The caller holds the host lock and found no pending journal.
 */
export async function runSync(
  ws: Workspace,
  work: SyncWork,
  view: StackView,
  records: (name: string) => XlpPayloadFacts | null,
  options: ActionRequest,
): Promise<SyncStepResult[]> {
  const originalStack = view.applied.map((e) => e.name);
  const originalNodeps = view.applied.filter((e) => !e.chained).map((e) => e.name);
  const uploads = work.steps
    .filter((s) => s.action === 'UPLOAD')
    .map((s) => {
      const u = work.uploads.get(s.payload);
      if (!u) throw new RangeError(`sync: no installed copy given for the upload of ${JSON.stringify(s.payload)}`);
      return { payload: u.payload, file: u.file, sha256: u.sha256, size: u.bytes.length };
    });
  const detail: SyncDetail = {
    xenBuildId: work.xenBuildId,
    uploads,
    original: view.applied.map((e) => ({ name: e.name, sha256: e.evidence === 'registry' ? (records(e.name)?.sha256 ?? null) : null })),
  };
  const target = work.steps.filter((s) => s.action === 'APPLY' || s.action === 'REPLACE').at(-1)?.payload ?? work.steps[0]!.payload;
  let journal: Journal = {
    version: 1,
    workflow: 'sync',
    command: work.command,
    startedAt: new Date().toISOString(),
    pid: process.pid,
    target,
    originalStack,
    ...(originalNodeps.length ? { originalNodeps } : {}),
    phase: 'forward',
    steps: work.steps.map((s): JournalStep => ({ action: s.action, payload: s.payload, state: 'pending' })),
    uploadedByWorkflow: uploads.length > 0,
    detail,
  };
  await ws.journal.write(journal);
  const done: SyncStepResult[] = [];
  const given = async (name: string) => {
    const u = work.uploads.get(name)!;
    return { bytes: u.bytes, model: u.model };
  };
  for (const [i, s] of work.steps.entries()) {
    ws.emit({ phase: 'step', index: i + 1, total: work.steps.length, description: `${s.action} ${s.payload}` });
    journal = await ws.step(journal, i, 'started');
    try {
      done.push(...(await runStep(ws, s, options, given)));
    } catch (error) {
      journal = { ...journal, phase: 'rollback', failure: failureOf(error) };
      await ws.journal.write(journal);
      try {
        await rollback(ws, journal, ws.undoRequest(options));
        await ws.journal.clear();
        await forgetUnloaded(ws, journal);
        note(error, `rolled back: the previous stack (${originalStack.join(', ') || 'empty'}) is applied again`);
      } catch (rollbackError) {
        const why = rollbackError instanceof Error ? rollbackError.message : String(rollbackError);
        note(error, `the rollback failed too (${why}); the journal is kept: fix the cause, then run \`xlp recover\``);
      }
      throw error;
    }
    journal = await ws.step(journal, i, 'done');
  }
  await ws.journal.clear();
  await forgetUnloaded(ws, journal);
  return done;
}

/**
 * Why the original stack cannot be restored, or null: a payload of it is not loaded as the very
 * bytes it was (xlp has no copy of another tool's payload, and a namesake the sync uploaded is
 * another version).
 */
async function rollbackRefusal(ws: Workspace, journal: Journal, d: SyncDetail): Promise<RefusedError | null> {
  const lost: string[] = [];
  for (const o of d.original) {
    const loaded = await ws.statusOrNull(o.name);
    const rec = await ws.registry.get(o.name);
    if (o.sha256 === null) {
      if (!loaded) lost.push(`${o.name} (not uploaded by xlp, and unloaded)`);
    } else if (!rec || rec.sha256 !== o.sha256) {
      lost.push(`${o.name} (replaced by another version)`);
    }
  }
  if (!lost.length) return null;
  return new RefusedError(
    `the stack before \`${journal.command}\` cannot be restored: xlp no longer has ${lost.join(', ')}; ` +
      'run `xlp recover --complete` to finish the sync instead (the stack then is the installed set)',
    { payload: journal.target },
  );
}

async function rollback(ws: Workspace, journal: Journal, req: ActionRequest): Promise<ActionResult[]> {
  const d = detailOf(ws, journal);
  const refusal = await rollbackRefusal(ws, journal, d);
  if (refusal) throw refusal;
  const steps = await restoreStack(ws, journal.originalStack, new Set(journal.originalNodeps ?? []), req);
  const original = new Set(journal.originalStack);
  for (const u of d.uploads) {
    if (original.has(u.payload)) continue;
    const st = await ws.statusOrNull(u.payload);
    const rec = await ws.registry.get(u.payload);
    // Only the copy this sync uploaded (a namesake loaded since is someone else's business).
    if (st?.state === 'CHECKED' && rec?.sha256 === u.sha256) {
      steps.push(await runAction(ws.context(), u.payload, 'UNLOAD', req));
      await ws.registry.forget(u.payload);
    }
  }
  return steps;
}

/** The journal's steps not yet in effect, with the hypervisor as `status` says. */
async function remainingSteps(
  ws: Workspace,
  journal: Journal,
  status: (name: string) => Promise<{ state: string } | null>,
  d: SyncDetail,
): Promise<JournalStep[]> {
  /** The payload is loaded as the installed copy this sync uploads. */
  const uploadedCopy = async (name: string): Promise<boolean> => {
    const u = d.uploads.find((x) => x.payload === name);
    return u !== undefined && (await ws.registry.get(name))?.sha256 === u.sha256;
  };
  const out: JournalStep[] = [];
  for (const s of journal.steps) {
    if (s.state === 'done') continue;
    const st = await status(s.payload);
    if (s.action === 'REVERT' && st?.state === 'APPLIED') out.push(s);
    else if (s.action === 'UNLOAD' && st && !(await uploadedCopy(s.payload))) out.push(s);
    else if (s.action === 'UPLOAD' && (!st || !(await uploadedCopy(s.payload)))) out.push(s);
    else if ((s.action === 'APPLY' || s.action === 'REPLACE') && st?.state !== 'APPLIED') out.push(s);
  }
  return out;
}

export const syncKind: WorkflowKind = {
  name: 'sync',
  completesAfterFailure: true,

  async completeRefusal() {
    return null;
  },

  async planRecover(ws, journal, mode, inventory: HookInventory, h) {
    const d = detailOf(ws, journal);
    if (mode === 'complete') {
      const steps: PlanStep[] = [];
      for (const s of await remainingSteps(ws, journal, h.status, d)) {
        if (s.action === 'REVERT') steps.push(revertStep(s.payload, inventory));
        else if (s.action === 'APPLY') steps.push(applyStep(s.payload, inventory));
        else if (s.action === 'REPLACE')
          steps.push(
            replaceStep(
              s.payload,
              [...h.stack].reverse().filter((n) => n !== s.payload),
              inventory,
            ),
          );
        else steps.push(simpleStep(s.action, s.payload, s.action === 'UPLOAD' ? 'the installed copy' : undefined));
      }
      return steps;
    }
    const refusal = await rollbackRefusal(ws, journal, d);
    if (refusal) throw refusal;
    const { revert, apply } = await restoreDiff(ws, journal.originalStack, h.stack);
    const steps = [...revert.map((p) => revertStep(p, inventory)), ...apply.map((p) => applyStep(p, inventory))];
    const original = new Set(journal.originalStack);
    for (const u of d.uploads) {
      if (!original.has(u.payload) && (await h.status(u.payload)))
        steps.push(simpleStep('UNLOAD', u.payload, 'the interrupted sync uploaded it'));
    }
    return steps;
  },

  async recover(ws, journal, mode: RecoverMode, req) {
    const d = detailOf(ws, journal);
    let steps: ActionResult[];
    if (mode === 'rollback') {
      steps = await rollback(ws, journal, req);
    } else {
      steps = [];
      const copies = new Map(d.uploads.map((u) => [u.payload, u]));
      const bytesOf = (name: string) => {
        const u = copies.get(name);
        if (!u)
          throw new RefusedError(
            `the journal of \`${journal.command}\` does not say ` + `where the installed copy of ${JSON.stringify(name)} is`,
            { payload: name },
          );
        return storedCopy(u);
      };
      for (const s of await remainingSteps(ws, journal, (n) => ws.statusOrNull(n), d)) {
        for (const r of await runStep(ws, s as SyncStepSpec, req, bytesOf)) if (r.action !== 'UPLOAD') steps.push(r);
      }
    }
    await forgetUnloaded(ws, journal);
    return steps;
  },
};
