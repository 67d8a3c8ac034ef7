import type { Backend } from '../backend/backend.js';

/**
 * Follows the hypervisor console through this handle's incremental cursor, so each operation
 * sees exactly the lines printed since it started. Reads may end mid-line; the tail is kept until
 * its end-of-line arrives.
 */
export class ConsoleWatcher {
  private partial = '';
  private readable = true;

  constructor(private readonly backend: Backend) {}

  /** False once the console turned out to be unreadable; reads then return nothing. */
  get available(): boolean {
    return this.readable;
  }

  /** Skips everything printed so far. */
  async sync(): Promise<void> {
    await this.read();
  }

  /** Complete lines printed since the previous read (none if the console cannot be read). */
  async read(): Promise<string[]> {
    if (!this.readable) return [];
    let text: string;
    try {
      text = await this.backend.readConsole({ incremental: true });
    } catch {
      // Reading the ring needs a privilege the livepatch sysctls do not (XSM can deny it): work without it.
      this.readable = false;
      return [];
    }
    const all = this.partial + text;
    const cut = all.lastIndexOf('\n');
    this.partial = cut < 0 ? all : all.slice(cut + 1);
    return cut < 0
      ? []
      : all
          .slice(0, cut)
          .split('\n')
          .filter((l) => l.length > 0);
  }
}
