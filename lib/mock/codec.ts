/**
 * JSON with the two value kinds the state holds that JSON lacks: bigint (addresses) as
 * `{"$big": "<hex>"}` and byte arrays as `{"$b64": "<base64>"}`. Generic, so the payload model can
 * gain fields without the store changing.
 *
 * Byte arrays are recognised before `toJSON` runs: a Node `Buffer` (what payloads read from files
 * are sliced from) has a `toJSON` that JSON.stringify applies before the replacer sees the value,
 * which would store `{"type": "Buffer", "data": [...]}` and read back a plain object. States
 * written that way by earlier versions are still read back as bytes.
 */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key];
    if (original instanceof Uint8Array)
      return { $b64: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
    if (typeof v === 'bigint') return { $big: v.toString(16) };
    return v;
  });
}

export function decodeJson(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1) {
        if (typeof o.$big === 'string') return o.$big.startsWith('-') ? -BigInt(`0x${o.$big.slice(1)}`) : BigInt(`0x${o.$big}`);
        if (typeof o.$b64 === 'string') return Uint8Array.from(Buffer.from(o.$b64, 'base64'));
      }
      if (keys.length === 2 && o.type === 'Buffer' && Array.isArray(o.data)) return Uint8Array.from(o.data as number[]);
    }
    return v;
  });
}
