/**
 * `xlp install`: payload files into the store of installed patches. Every file is read once; the
 * signature policy and preflight judge those bytes; the build each is for is its own
 * `.livepatch.xen_depends`. All files of one command are checked as one set (against each build's
 * installed patches) before anything is stored, so a refused file means nothing was installed.
 */
import { readPayload } from '../payload/read-payload.js';
import type { PreflightReport } from '../preflight/types.js';
import { PreflightError } from '../workflow/errors.js';
import type { BuildIdHex } from '../xen/domain.js';
import { sha256Of as sha256 } from './manifest.js';
import { InstallRefusedError, type InstalledStore, type NewPatch } from './store.js';
import { readSignedPayload } from './payload-signature.js';
import type { SignatureAlgorithm, TrustedKeySet } from './trusted-keys.js';

/** Preflight of a payload as it would be uploaded into the build it is for. */
export type InstallPreflight = (
  bytes: Uint8Array,
  name: string,
  xenBuildId: BuildIdHex | null,
) => PreflightReport | Promise<PreflightReport>;

/** What `install` did (or, dry run, would do) with one file. */
export interface InstallOutcome {
  readonly name: string;
  readonly file: string;
  readonly xenBuildId: BuildIdHex;
  readonly sha256: string;
  readonly signature: { readonly keyId: string; readonly algorithm: SignatureAlgorithm } | null;
  readonly outcome: 'installed' | 'replaced' | 'unchanged';
  /** Preflight warnings, for the operator. */
  readonly warnings: readonly string[];
}

export interface InstallOptions {
  /** Replace a patch installed under the same name with other bytes (default: refused). */
  readonly replace?: boolean;
  /** Check everything and write nothing. */
  readonly dryRun?: boolean;
}

/** Installs payload files; returns one outcome per file, in the order given. */
export async function installFiles(
  files: readonly string[],
  store: InstalledStore,
  trust: TrustedKeySet,
  check: InstallPreflight,
  options: InstallOptions = {},
): Promise<InstallOutcome[]> {
  const read: { patch: NewPatch; file: string; warnings: string[]; signature: InstallOutcome['signature'] }[] = [];
  for (const file of files) {
    const signed = await readSignedPayload(file, trust);
    // Judged as an upload into the build it names (with the running one's context when it is that build).
    const xen = readPayload(signed.bytes).payload?.xenDepends ?? null;
    const report = await check(signed.bytes, signed.name, xen);
    const errors = report.diagnostics.filter((d) => d.severity === 'fatal' || (d.severity === 'error' && d.group !== 'apply'));
    if (report.fatal || errors.length) throw new PreflightError(signed.name, report.diagnostics, report.fatal);
    if (!report.payload || xen === null) {
      throw new InstallRefusedError(
        'wrong-build',
        signed.name,
        `${JSON.stringify(signed.name)} (${file}) has no readable ` +
          `.livepatch.xen_depends note: xlp cannot tell which Xen build it is for`,
      );
    }
    const keyed = signed.verdict.status === 'valid' ? { keyId: signed.verdict.keyId, algorithm: signed.verdict.algorithm } : null;
    read.push({
      file,
      patch: {
        name: signed.name,
        bytes: signed.bytes,
        payload: report.payload,
        signature: signed.signature ? { bytes: signed.signature, keyId: keyed?.keyId ?? null, algorithm: keyed?.algorithm ?? null } : null,
      },
      warnings: report.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.code}: ${d.message}`),
      signature: keyed,
    });
  }
  const byBuild = new Map<BuildIdHex, typeof read>();
  for (const r of read) {
    const xen = r.patch.payload.xenDepends!;
    byBuild.set(xen, [...(byBuild.get(xen) ?? []), r]);
  }
  // Every build's change checked before any is written.
  const replace = options.replace === true;
  for (const [xen, group] of byBuild) await store.commit(xen, { add: group.map((g) => g.patch), replace, dryRun: true });
  const outcomes = new Map<string, InstallOutcome['outcome']>();
  for (const [xen, group] of byBuild) {
    const r = await store.commit(xen, { add: group.map((g) => g.patch), replace, dryRun: options.dryRun === true });
    for (const n of r.added) outcomes.set(`${xen}/${n}`, 'installed');
    for (const n of r.replaced) outcomes.set(`${xen}/${n}`, 'replaced');
    for (const n of r.unchanged) outcomes.set(`${xen}/${n}`, 'unchanged');
  }
  return read.map((r) => {
    const xen = r.patch.payload.xenDepends!;
    return {
      name: r.patch.name,
      file: r.file,
      xenBuildId: xen,
      sha256: sha256(r.patch.bytes),
      signature: r.signature,
      outcome: outcomes.get(`${xen}/${r.patch.name}`) ?? 'unchanged',
      warnings: r.warnings,
    };
  });
}
