/**
 * A stand-in for `preflight()` until the preflight branch lands: the payload model from
 * `readPayload` plus the few upload checks the mock tests exercise, in Xen 4.17.7's order. Only for
 * tests; the mock's default is the real preflight.
 */
import { loadedPayloadInfo, readPayload } from '../../lib/payload/index.js';
import type { Diagnostic, PreflightOptions, PreflightReport } from '../../lib/preflight/types.js';
import { ERRNO } from '../../lib/xen/errno.js';

export function standInPreflight(bytes: Uint8Array, options: PreflightOptions): PreflightReport {
  const name = options.name ?? 'payload';
  const { payload } = readPayload(bytes);
  const ctx = options.context;
  const fail = (code: string, errno: number, message: string, console?: string): PreflightReport => {
    const d: Diagnostic = { code, check: null, group: 'upload', severity: 'error', errno, message, ...(console ? { console: `livepatch: ${name}: ${console}` } : {}) };
    return { payload, diagnostics: [d], uploadError: d, fatal: false };
  };
  if (!payload) return fail('not-elf', ERRNO.EINVAL, 'not an ELF payload', 'Not an ELF payload');
  const loaded = ctx?.loaded ?? [];
  const known = (sym: string) => (ctx?.xenSymbols ? ctx.xenSymbols.has(sym) : true) || loaded.some((l) => l.symbols.includes(sym));
  for (const sym of payload.undefinedSymbols) if (!known(sym)) return fail('unknown-symbol', ERRNO.ENOENT, `unknown symbol ${sym}`, `Unknown symbol: ${sym}`);
  if (!payload.depends) return fail('depends-missing', ERRNO.EINVAL, 'no .livepatch.depends', '.livepatch.depends is missing');
  if (!payload.xenDepends) return fail('xen-depends-missing', ERRNO.EINVAL, 'no .livepatch.xen_depends', '.livepatch.xen_depends is missing');
  if (!payload.buildId) return fail('build-id-missing', ERRNO.EINVAL, 'no build-id', '.note.gnu.build-id is missing');
  for (const f of payload.funcs) {
    if (f.oldAddr === 0n && f.oldSymbol === null && f.name && !known(f.name)) return fail('old-addr', ERRNO.ENOENT, `cannot resolve ${f.name}`, `Could not resolve old address of ${f.name}`);
  }
  if (loaded.some((l) => l.buildId === payload.buildId)) return fail('duplicate-build-id', ERRNO.EEXIST, 'build-id already loaded');
  if (ctx && payload.xenDepends !== ctx.xenBuildId) return fail('xen-depends', ERRNO.EINVAL, 'built for another hypervisor', 'check against hypervisor build-id failed');
  for (const sym of loadedPayloadInfo(name, payload).symbols) {
    if (ctx?.xenSymbols?.has(sym) || loaded.some((l) => l.symbols.includes(sym))) return fail('duplicate-symbol', ERRNO.EEXIST, `duplicate symbol ${sym}`, `duplicate new symbol: ${sym}`);
  }
  return { payload, diagnostics: [], uploadError: null, fatal: false };
}
