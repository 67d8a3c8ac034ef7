/**
 * node:crypto, loaded when first used. Loading it loads Node's stream modules too, a measurable
 * part of every `xlp` start (`npm run bench:cli`), while most commands never hash or verify
 * anything: a module that may hash imports this instead of node:crypto.
 */
import { createRequire } from 'node:module';

type NodeCrypto = typeof import('node:crypto');

let loaded: NodeCrypto | undefined;

export function nodeCrypto(): NodeCrypto {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as NodeCrypto);
}

/** The SHA-256 of `data` (a string is hashed as UTF-8), as 64 lowercase hex digits. */
export function sha256Hex(data: string | Uint8Array): string {
  return nodeCrypto().createHash('sha256').update(data).digest('hex');
}
