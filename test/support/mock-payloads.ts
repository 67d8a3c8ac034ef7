/** The parity payloads built once per test process for the mock's own tests. */
import { buildParityPayloads } from '../parity/payloads.js';
import type { ParityPayloadId, PayloadProvider } from '../../lib/parity/types.js';

export const TEST_XEN = 'c0ffee0000000000000000000000000000004242';
let built: Promise<PayloadProvider> | undefined;

export function testPayloads(): Promise<PayloadProvider> {
  built ??= buildParityPayloads({ xenBuildId: TEST_XEN });
  return built;
}

export async function payloadBytes(id: ParityPayloadId): Promise<Uint8Array> {
  return (await testPayloads()).bytes(id);
}
