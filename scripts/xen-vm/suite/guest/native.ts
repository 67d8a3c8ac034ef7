// The native addon's error paths on the real system: name limits, unknown payloads, concurrent calls
// (on one handle and across two), FORCE as this version's library and hypervisor take it, and a
// list longer than one LIST page (Xen returns at most 1024 entries per call; libxenctrl pages, the
// addon must hand back every entry in order).
import { openNative, type NativeBackend } from '../../../../lib/native/index.js';
import { XenError, type Backend } from '../../../../lib/mock/index.js';
import { type XenVersionInfo, xenVersionFromHypervisor } from '../../../../lib/index.js';
import { hasXenFeature } from '../../../../lib/xen/index.js';
import { check, nowMs, plan, readStaged, runChild } from './common.js';

async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof XenError) return e.code;
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

export async function runNative(backend: NativeBackend, version: XenVersionInfo): Promise<void> {
  const small = readStaged(plan.e2e.cumulative.file);

  await check('native upload with FORCE', async (problems) => {
    // 4.19+ (libxenctrl's `bool force`, op.flags): accepted and changes nothing in the hypervisor.
    // Before, the library has no way to send it and the hypervisor's `pad` must be 0: refused
    // before anything reaches Xen.
    const takesForce = hasXenFeature(xenVersionFromHypervisor(version), 'upload-force-flag');
    await backend.readConsole({ incremental: true });
    const r = await errnoOf(backend.upload('forced', new Uint8Array(small), { force: true }));
    const consoleText = await backend.readConsole({ incremental: true });
    const listed = (await backend.list()).map((e) => `${e.name} ${e.state} ${e.rc}`);
    if (takesForce) {
      if (r !== 'ok') problems.push(`upload with force on Xen ${version.major}.${version.minor}: ${r}, expected it accepted`);
      if (JSON.stringify(listed) !== JSON.stringify(['forced CHECKED 0'])) problems.push(`after the forced upload the list is ${JSON.stringify(listed)}`);
      if (consoleText.includes('livepatch')) problems.push(`the forced upload printed ${JSON.stringify(consoleText)}`);
      await backend.action('forced', 'UNLOAD');
    } else {
      if (r === 'ok') problems.push(`upload with force on Xen ${version.major}.${version.minor} was accepted; this library cannot send the flag`);
      if (listed.length) problems.push(`a refused forced upload left ${JSON.stringify(listed)}`);
    }
    return { takesForce, result: r, console: consoleText };
  });

  await check('native names of 127 and 128 bytes', async (problems) => {
    const n127 = 'n'.repeat(127);
    const up = await errnoOf(backend.upload(n127, new Uint8Array(small)));
    if (up !== 'ok') problems.push(`upload with a 127-byte name: ${up}`);
    const got = await backend.get(n127).catch((e: unknown) => String(e));
    if (JSON.stringify(got) !== JSON.stringify({ state: 'CHECKED', rc: 0 })) problems.push(`get of the 127-byte name: ${JSON.stringify(got)}`);
    const listed = (await backend.list()).map((e) => e.name);
    if (!listed.includes(n127)) problems.push('list does not return the 127-byte name whole');
    const n128 = 'n'.repeat(128);
    const before = await backend.readConsole({ incremental: true });
    let err128: unknown;
    try {
      await backend.upload(n128, new Uint8Array(small));
    } catch (e) {
      err128 = e;
    }
    if (!(err128 instanceof RangeError)) problems.push(`upload with a 128-byte name: ${String(err128)} (expected a RangeError from the addon, before any hypercall)`);
    const get128 = await errnoOf(backend.get(n128));
    if (!get128.startsWith('RangeError')) problems.push(`get with a 128-byte name: ${get128}`);
    const unl = await errnoOf(backend.action(n127, 'UNLOAD'));
    if (unl !== 'ok') problems.push(`unload of the 127-byte name: ${unl}`);
    void before;
    return { upload127: up, upload128: String(err128), get128 };
  });

  await check('native unknown payload: ENOENT', async (problems) => {
    const r = {
      get: await errnoOf(backend.get('no_such_payload')),
      apply: await errnoOf(backend.action('no_such_payload', 'APPLY')),
      revert: await errnoOf(backend.action('no_such_payload', 'REVERT')),
      unload: await errnoOf(backend.action('no_such_payload', 'UNLOAD')),
      replace: await errnoOf(backend.action('no_such_payload', 'REPLACE')),
    };
    for (const [k, v] of Object.entries(r)) if (v !== 'ENOENT') problems.push(`${k}: ${v}`);
    return r;
  });

  await check('native concurrent calls (one handle, and two handles at once)', async (problems) => {
    await backend.upload('conc_a', new Uint8Array(small));
    const other = await openNative();
    try {
      const t0 = nowMs();
      const calls: Array<Promise<unknown>> = [];
      for (let i = 0; i < 50; i++) {
        calls.push(backend.get('conc_a'), backend.list(), other.get('conc_a'), other.list());
        if (i % 10 === 0) calls.push(backend.xenVersion(), other.readConsole({ incremental: true }), backend.get('missing').catch((e: unknown) => (e as XenError).code));
      }
      const results = await Promise.all(calls);
      const ms = nowMs() - t0;
      let bad = 0;
      for (const r of results) {
        if (r && typeof r === 'object' && 'state' in r && JSON.stringify(r) !== '{"state":"CHECKED","rc":0}') bad++;
        if (Array.isArray(r) && (r.length !== 1 || r[0].name !== 'conc_a')) bad++;
        if (typeof r === 'string' && r !== 'ENOENT' && !r.includes('(XEN)') && r !== '') bad++;
      }
      if (bad) problems.push(`${bad} of ${results.length} concurrent results were wrong`);
      return { calls: results.length, ms: Math.round(ms) };
    } finally {
      await other.close();
      await backend.action('conc_a', 'UNLOAD');
    }
  });

  await check(`native list longer than one LIST page (${plan.bulk.names.length} payloads)`, async (problems) => {
    const blob = readStaged(plan.bulk.file);
    const t0 = nowMs();
    let off = 0;
    const uploadMs: number[] = [];
    for (const [i, name] of plan.bulk.names.entries()) {
      const size = plan.bulk.sizes[i]!;
      const u0 = nowMs();
      await backend.upload(name, new Uint8Array(blob.subarray(off, off + size)));
      uploadMs.push(nowMs() - u0);
      off += size;
    }
    const uploadSec = (nowMs() - t0) / 1000;
    const l0 = nowMs();
    const list = await backend.list();
    const listMs = nowMs() - l0;
    const names = list.map((e) => e.name);
    if (JSON.stringify(names) !== JSON.stringify(plan.bulk.names)) {
      const firstBad = names.findIndex((n, i) => n !== plan.bulk.names[i]);
      problems.push(`list returned ${names.length} names, expected ${plan.bulk.names.length} in upload order (first difference at ${firstBad})`);
    }
    if (list.some((e) => e.state !== 'CHECKED' || e.rc !== 0)) problems.push('some entries are not CHECKED/0');
    // The C tool lists the same payloads with one xc_livepatch_list call of its own.
    const c0 = nowMs();
    const tool = await runChild('xen-livepatch', ['list']);
    const toolMs = nowMs() - c0;
    const toolRows = tool.stdout.split('\n').filter((l) => /\| (CHECKED|APPLIED)/.test(l)).length;
    if (tool.code !== 0 || toolRows !== names.length) problems.push(`xen-livepatch list: exit ${tool.code}, ${toolRows} rows`);
    const d0 = nowMs();
    for (const name of plan.bulk.names) await backend.action(name, 'UNLOAD');
    const unloadSec = (nowMs() - d0) / 1000;
    const left = await backend.list();
    if (left.length) problems.push(`${left.length} payloads left after unloading`);
    const sorted = [...uploadMs].sort((a, b) => a - b);
    return {
      payloads: names.length,
      uploadSec: +uploadSec.toFixed(1),
      uploadMsMedian: +sorted[sorted.length >> 1]!.toFixed(2),
      uploadMsLast: +uploadMs.at(-1)!.toFixed(2),
      listMs: +listMs.toFixed(1),
      cToolListMs: Math.round(toolMs),
      unloadSec: +unloadSec.toFixed(1),
    };
  });
}

export type { Backend };
