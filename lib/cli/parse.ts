import type { BackendChoice } from '../host/index.js';
import { parseBuildIdHex } from '../xen/index.js';
import { UsageError } from './usage-error.js';

/** `30s`, `500ms`, `2m`, or a bare number of seconds, as milliseconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${option}: not a duration: ${JSON.stringify(text)} (use e.g. 500ms, 30s, 2m)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (!Number.isFinite(ms) || ms > 24 * 3600 * 1000) throw new UsageError(`${option}: duration out of range: ${text}`);
  return Math.round(ms);
}

/** A build-id as lowercase hex (even length, 1..64 bytes; a leading 0x is accepted). */
export function parseBuildId(text: string, option: string): string {
  const hex = parseBuildIdHex(text);
  if (hex === null) throw new UsageError(`${option}: not a build-id in hex: ${JSON.stringify(text)}`);
  return hex;
}


export function parseBackend(text: string, option: string): BackendChoice {
  if (text === 'native' || text === 'mock') return text;
  throw new UsageError(`${option}: unknown backend ${JSON.stringify(text)} (native or mock)`);
}
