/** `XEN_SYSCTL_debug_keys`: only `x` (`livepatch_printall`) is modelled; other keys print nothing. */
import { PAYLOAD_STATE_CODE } from '../../xen/domain.js';
import type { MockMachine } from '../machine.js';
import { hexN, ptr, str } from '../printk.js';
import { displayMetadata } from '../work.js';

export function debugKeys(m: MockMachine, keys: string): void {
  for (const key of keys) {
    if (key === 'x') m.console.logEverything(() => printAll(m));
    else m.warn('unsupported-debug-key', null, `debug key ${JSON.stringify(key)} is not modelled; nothing printed`);
  }
  m.dirty = true;
}

/** `livepatch_printall`. */
function printAll(m: MockMachine): void {
  const c = m.console;
  c.printk(`'x' pressed - Dumping all livepatch patches\n`);
  if (m.identity.buildId !== null) c.printk(`build-id: ${hexN(m.identity.buildId)}\n`);
  for (const p of m.state.payloads) {
    const code = PAYLOAD_STATE_CODE[p.state];
    c.printk(
      ` name=${p.name} state=${p.state}(${code}) ${ptr(p.textAddr)} ` +
        `(.data=${ptr(p.rwAddr)}, .rodata=${ptr(p.roAddr)}) using ${p.pages} pages.\n`,
    );
    displayMetadata(m, p);
    for (const [i, f] of p.payload.funcs.entries()) {
      const rt = p.funcs[i]!;
      c.printk(`    ${str(f.name)} patch ${ptr(rt.oldAddr)}(${f.oldSize}) with ${ptr(rt.newAddr)} (${f.newSize})\n`);
    }
    if (p.payload.buildId) c.printk(`build-id=${hexN(p.payload.buildId)}\n`);
    if (p.payload.depends) c.printk(`depend-on=${hexN(p.payload.depends)}\n`);
    // Dropped with the early build-id check (fa49f4be41): the payload no longer keeps xen_depends.
    if (p.payload.xenDepends && !m.features['xen-build-id-first']) c.printk(`depend-on-xen=${hexN(p.payload.xenDepends)}\n`);
  }
}
