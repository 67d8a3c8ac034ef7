/**
 * One of the processes of the concurrency test: drives the mock of a shared state directory through
 * the public API (xen-livepatch/mock): upload, apply, revert, unload a series of payloads, retrying
 * while the other process's action is pending, and scripts a hook each round.
 */
import { readFile } from 'node:fs/promises';
import { openMockBackend, XenError } from '../../../lib/mock/index.js';
import { payloadVariant } from '../../../scripts/payloads/variants.js';

const [dir, idText, roundsText, payloadPath] = process.argv.slice(2);
const id = Number(idText);
const rounds = Number(roundsText);
const base = new Uint8Array(await readFile(payloadPath!));
const mock = await openMockBackend({ stateDir: dir!, ifMissing: 'error', lockTimeoutMs: 30_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let busy = 0;

async function retry(fn: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof XenError && e.code === 'EBUSY') {
        busy++;
        await sleep(1);
        continue;
      }
      throw e;
    }
  }
}

async function settle(name: string): Promise<{ state: string; rc: number }> {
  for (;;) {
    const s = await mock.get(name);
    if (s.rc !== -11) return s;
    await sleep(1);
  }
}

const problems: string[] = [];
for (let i = 0; i < rounds; i++) {
  const name = `w${id}_${i}`;
  await mock.upload(name, payloadVariant(base, id * 1000 + i));
  await retry(() => mock.action(name, 'APPLY', { nodeps: true }));
  const applied = await settle(name);
  if (applied.state !== 'APPLIED' || applied.rc !== 0) problems.push(`${name} after apply: ${JSON.stringify(applied)}`);
  await mock.setHook({ payload: name, kind: 'preapply' }, { rc: -i });
  // Only the top of the stack may be reverted: wait while the other worker's payload is above ours.
  for (;;) {
    try {
      await retry(() => mock.action(name, 'REVERT'));
      break;
    } catch (e) {
      if (e instanceof XenError && e.code === 'EBUSY') continue;
      throw e;
    }
  }
  const reverted = await settle(name);
  if (reverted.state !== 'CHECKED') problems.push(`${name} after revert: ${JSON.stringify(reverted)}`);
  await retry(() => mock.action(name, 'UNLOAD'));
}
await mock.upload(`keep_${id}`, payloadVariant(base, id * 1000 + 999));
await mock.close();
process.stdout.write(JSON.stringify({ id, problems, busy }));
