/**
 * `hexDigits` hex digits (at most 32) that tell one name or lock acquisition apart from the others of
 * the same process, where the process's pid already tells processes apart. Nothing relies on
 * them being unpredictable, so they come from Math.random rather than node:crypto, whose
 * loading costs every locked command's start (lib/fs/lazy-crypto.ts).
 */
export function uniqueId(hexDigits: number): string {
  let id = '';
  while (id.length < hexDigits)
    id += Math.floor(Math.random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return id.slice(0, hexDigits);
}
