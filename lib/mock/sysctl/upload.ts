/** `XEN_SYSCTL_LIVEPATCH_UPLOAD` (`livepatch_upload`): name and size checks, the preflight verdict, loading. */
import { sha256Hex } from '../../fs/lazy-crypto.js';
import { loadedPayloadInfo } from '../../payload/loaded-info.js';
import type { PreflightContext } from '../../preflight/types.js';
import { CONSOLE_ADDR } from '../../xen/domain.js';
import { ERRNO } from '../../xen/errno.js';
import { XenError } from '../../xen/errors.js';
import { xenVersionFromHypervisor } from '../../xen/version.js';
import { identityVersionName } from '../identity.js';
import { allocateRegions } from '../layout.js';
import type { MockMachine } from '../machine.js';
import { ENDBR64_LEN, PATCH_INSN_SIZE } from '../memory.js';
import { resolveFunc } from '../patching.js';
import { ptr } from '../printk.js';
import type { PayloadRecord } from '../state.js';
import { checkPayloadName, checkUploadSize } from '../xen-names.js';

export function upload(m: MockMachine, name: string, bytes: Uint8Array, force: boolean): void {
  if (force && !m.features['upload-force-flag']) {
    // Before 4.19 the field is `pad`, which must be zero. From 4.19 FORCE is accepted and changes nothing.
    throw new XenError(
      'upload',
      ERRNO.EINVAL,
      name,
      `upload: LIVEPATCH_FLAG_FORCE needs Xen 4.19 or later; this mock is Xen ${identityVersionName(m.identity.version)} (EINVAL)`,
    );
  }
  const n = checkPayloadName(name, 'upload');
  checkUploadSize(bytes.length, n);
  if (m.record(n)) throw new XenError('upload', ERRNO.EEXIST, n);

  const report = m.preflight(bytes, {
    name: n,
    xenVersion: xenVersionFromHypervisor(m.identity.version),
    context: preflightContext(m),
  });
  if (report.fatal) {
    // The real hypervisor does not refuse these payloads: it crashes on them.
    const d = report.diagnostics.find((x) => x.severity === 'fatal');
    m.panic(`FATAL PAGE FAULT while loading payload ${n}${d ? `: ${d.message}` : ''}`);
  }
  if (report.uploadError) {
    const e = report.uploadError;
    // Addresses Xen prints are where the payload was being loaded: the next free one here.
    if (e.console) m.console.printk(`<0>${e.console.replaceAll(CONSOLE_ADDR, ptr(m.state.nextVa))}\n`);
    m.dirty = true;
    throw new XenError('upload', e.errno ?? ERRNO.EINVAL, n, `upload ${JSON.stringify(n)} refused: ${e.message} (${e.code})`);
  }
  const payload = report.payload;
  if (!payload) throw new Error(`preflight accepted ${n} but returned no payload model`);

  // arch_livepatch_verify_func's ENDBR64 rule needs the old code's first bytes: only the mock has them.
  const funcs = payload.funcs.map((f) => resolveFunc(m, f));
  for (const [i, f] of payload.funcs.entries()) {
    const loc = funcs[i]!.location;
    if (!f.isNop && loc && m.memory.startsWithEndbr(loc) && f.oldSize < PATCH_INSN_SIZE + ENDBR64_LEN) {
      throw new XenError(
        'upload',
        ERRNO.EINVAL,
        n,
        `upload ${JSON.stringify(n)} refused: ${f.name ?? 'function'} starts with ENDBR64, so old_size must be at least 9 (EINVAL)`,
      );
    }
  }
  if (!m.identity.symbols && payload.undefinedSymbols.length) {
    m.warn('unresolved-symbols', n, `no hypervisor symbol table: assumed ${payload.undefinedSymbols.join(', ')} resolve`);
  }

  const regions = allocateRegions(m.state, payload);
  const sha256 = sha256Hex(bytes);
  m.uploadedBlobs.set(sha256, Uint8Array.from(bytes));
  const rec: PayloadRecord = {
    name: n,
    sha256,
    payload,
    funcs: payload.funcs.map((f, i) => ({ ...funcs[i]!, newAddr: f.newSymbol ? regions.symbolAddress(f.newSymbol) : f.newAddr })),
    textAddr: regions.text,
    rwAddr: regions.rw,
    roAddr: regions.ro,
    pages: regions.pages,
    newSymbols: loadedPayloadInfo(n, payload).symbols,
    state: 'CHECKED',
    rc: 0,
    reverted: false,
    applied: payload.funcs.map(() => false),
    patchOffset: payload.funcs.map(() => 0),
    saved: payload.funcs.map(() => null),
  };
  m.add(rec);
}

/** What the hypervisor knows at upload time that preflight's checks compare against. */
function preflightContext(m: MockMachine): PreflightContext {
  return {
    xenBuildId: m.identity.buildId,
    loaded: m.state.payloads.map((p) => ({ name: p.name, buildId: p.payload.buildId, symbols: p.newSymbols })),
    appliedBuildIds: m.state.applied.map((n) => m.record(n)?.payload.buildId ?? null),
    ...(m.identity.symbols ? { xenSymbols: m.identity.symbols } : {}),
  };
}
