import type { Modinfo } from './model.js';

/**
 * `.modinfo` as NUL-separated strings. The hypervisor only requires the last byte to be NUL; the
 * documented form is `key=value`, but Xen's own test payload uses a bare `LIVEPATCH_RULEZ`, so the
 * strings are kept whatever they say and `entries` holds only the well-formed ones.
 */
export function parseModinfo(raw: Uint8Array): Modinfo {
  const strings = modinfoStrings(raw);
  const entries: { key: string; value: string }[] = [];
  for (const s of strings) {
    const eq = s.indexOf('=');
    if (eq > 0) entries.push({ key: s.slice(0, eq), value: s.slice(eq + 1) });
  }
  return { raw, strings, entries };
}

/**
 * The NUL-separated strings of `.modinfo` bytes, in order (a last string without its NUL included).
 * `latin1` keeps every byte as one character, as Xen's console prints them.
 */
export function modinfoStrings(raw: Uint8Array, encoding: 'utf8' | 'latin1' = 'utf8'): string[] {
  const strings: string[] = [];
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf(0, start);
    if (end < 0) end = raw.length;
    strings.push(Buffer.from(raw.buffer, raw.byteOffset + start, end - start).toString(encoding));
    start = end + 1;
  }
  return strings;
}
