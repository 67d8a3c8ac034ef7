/**
 * Where the lifecycle commands find their files: the trust directory (`--trust-dir`, else
 * XLP_TRUST_DIR, else /etc/xen-livepatch/trusted-keys), systemd's unit directory (`--systemd-dir`,
 * else XLP_SYSTEMD_DIR, else /etc/systemd/system), and the boot sync's kill switches
 * (XLP_DISABLE_FILE, XLP_CMDLINE_FILE: tests put them elsewhere).
 */
import { resolve } from 'node:path';
import {
  DEFAULT_CMDLINE_FILE,
  DEFAULT_DISABLE_FILE,
  DEFAULT_SYSTEMD_DIR,
  DEFAULT_TRUST_DIR,
  type KillSwitchPaths,
  loadTrustedKeys,
  type TrustedKeySet,
} from '../lifecycle/index.js';

export interface TrustOptions {
  readonly trustDir?: string;
}

export function trustDirOf(options: TrustOptions): string {
  return resolve(options.trustDir ?? (process.env.XLP_TRUST_DIR || DEFAULT_TRUST_DIR));
}

/** The trusted keys (none: no signature policy). */
export function trustedKeys(options: TrustOptions): Promise<TrustedKeySet> {
  return loadTrustedKeys(trustDirOf(options));
}

export function systemdDirOf(options: { readonly systemdDir?: string }): string {
  return resolve(options.systemdDir ?? (process.env.XLP_SYSTEMD_DIR || DEFAULT_SYSTEMD_DIR));
}

export function killSwitchPaths(): Required<KillSwitchPaths> {
  return {
    disableFile: process.env.XLP_DISABLE_FILE || DEFAULT_DISABLE_FILE,
    cmdlineFile: process.env.XLP_CMDLINE_FILE || DEFAULT_CMDLINE_FILE,
  };
}

/**
 * A payload file read once and passed by the signature policy: its bytes and name, which the
 * command then uploads (so what was verified is what Xen gets).
 */
export async function signedPayloadSource(
  file: string,
  options: TrustOptions,
  name?: string,
): Promise<{ bytes: Uint8Array; name: string }> {
  const { readSignedPayload } = await import('../lifecycle/index.js');
  const signed = await readSignedPayload(file, await trustedKeys(options), name);
  return { bytes: signed.bytes, name: signed.name };
}
