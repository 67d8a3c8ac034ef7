/** Which failed boots the harness retries: only a dom0 that died before /init ran (nothing of the project had run). */
import { describe, expect, it } from 'vitest';
import { diedBeforeInit } from '../../scripts/xen-vm/boot.js';

const crash = 'crash on the console: (XEN) Hardware Dom0 crashed: rebooting machine in 5 seconds.';

describe('diedBeforeInit', () => {
  it("names the crash when dom0 died before /init (the 6.12 kernel's early Oops on Debian 13)", () => {
    expect(
      diedBeforeInit({ ok: false, events: [], failures: [crash, 'the guest command never reported its exit (dom0 died or hung?)'] }),
    ).toBe('dom0 died before /init ((XEN) Hardware Dom0 crashed: rebooting machine in 5 seconds.)');
  });

  it("does not retry a crash after /init: that is the project's (or the hypervisor's) to answer for", () => {
    expect(diedBeforeInit({ ok: false, events: [{ type: 'init', uptime: '5.1' }], failures: [crash] })).toBeNull();
  });

  it('does not retry a hang or timeout without a crash line, nor a good boot', () => {
    expect(diedBeforeInit({ ok: false, events: [], failures: ['timeout: no power-off within 300s'] })).toBeNull();
    expect(diedBeforeInit({ ok: true, events: [], failures: [] })).toBeNull();
  });
});
