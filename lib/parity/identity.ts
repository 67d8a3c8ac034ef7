/**
 * The mock identity the parity suite runs the scenarios on: the reference hypervisor's shape (two
 * CPUs, `loglvl=all`, the symbols the parity payloads use, IBT-style code with ENDBR64), with the
 * addresses and bytes the parity payloads' default parameters assume (test/parity/payloads/parity.h). For the
 * differential run against a real Xen, pass that host's build-id, symbols and function bytes.
 */
import { type MockIdentityInput, mockXenVersion } from '../mock/identity.js';
import { DEFAULT_XEN_VERSION } from '../xen/version.js';

export const PARITY_SYMBOLS: ReadonlyMap<string, bigint> = new Map([
  ['xen_minor_version', 0xffff_82d0_4020_0000n], // = XLP_MINOR_VERSION_ADDR's default
  ['xen_extra_version', 0xffff_82d0_4020_0040n],
  ['printk', 0xffff_82d0_4024_1a20n],
  ['revert_payload', 0xffff_82d0_4023_4560n],
  ['revert_payload_tail', 0xffff_82d0_4023_4700n],
]);

/** endbr64; lea rax,[rip+...]; ret; int3 padding (16 bytes). */
export const PARITY_EXTRA_VERSION_BYTES = 'f30f1efa488d0500000000c3cccccccc';
/** endbr64; mov eax,17; ret; int3 padding (12 bytes = XLP_MINOR_VERSION_SZ's default). */
export const PARITY_MINOR_VERSION_BYTES = 'f30f1efab811000000c3cccc';

export function parityIdentity(xenBuildId: string, overrides: MockIdentityInput = {}): MockIdentityInput {
  return {
    buildId: xenBuildId,
    version: mockXenVersion(DEFAULT_XEN_VERSION),
    loglvl: 'all',
    cpus: 2,
    symbols: PARITY_SYMBOLS,
    memory: { xen_extra_version: PARITY_EXTRA_VERSION_BYTES, xen_minor_version: PARITY_MINOR_VERSION_BYTES },
    ...overrides,
  };
}
