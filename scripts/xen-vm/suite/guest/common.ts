// Shared by the guest suite's sections (runs in dom0, transpiled; see ../transpile.ts).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { emit, log, result } from '../../guest/guest.mjs';
import type { SuitePlan } from '../plan.js';

export const STAGE = '/opt/xlp';
export const plan = JSON.parse(readFileSync(`${STAGE}/plan.json`, 'utf8')) as SuitePlan;
export const stagePath = (rel: string): string => `${STAGE}/${rel}`;
export const readStaged = (rel: string): Buffer => readFileSync(stagePath(rel));

export { emit, log };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

let failures = 0;
let passes = 0;
export const counts = (): { passed: number; failed: number } => ({ passed: passes, failed: failures });

/** Reports one check; `problems` empty means it passed. */
export function report(name: string, problems: string[], data: Record<string, unknown> = {}): boolean {
  const ok = problems.length === 0;
  if (ok) passes++;
  else failures++;
  result(name, ok, { problems, ...data });
  return ok;
}

/** Runs a check; an exception is a failure with its stack. */
export async function check(name: string, fn: (problems: string[]) => Promise<Record<string, unknown> | void>): Promise<boolean> {
  emit({ type: 'step', name });
  const problems: string[] = [];
  const t0 = nowMs();
  let data: Record<string, unknown> = {};
  try {
    data = (await fn(problems)) ?? {};
  } catch (e) {
    problems.push(`threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  return report(name, problems, { ...data, ms: Math.round(nowMs() - t0) });
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program (no shell) and collects its output. */
export function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: nowMs() - t0 }));
  });
}

/** /proc/xen/xensyms as a symbol table (name -> address; the first of duplicate local names). */
export function readXensyms(): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of readFileSync('/proc/xen/xensyms', 'utf8').split('\n')) {
    const m = /^([0-9a-f]{16}) \S (.+)$/.exec(line);
    if (m && !out.has(m[2]!)) out.set(m[2]!, BigInt(`0x${m[1]}`));
  }
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
