/**
 * JSON with the two value kinds the state holds that JSON lacks: bigint (addresses) as
 * `{"$big": "<hex>"}` and byte arrays as `{"$b64": "<base64>"}`. Generic, so the payload model can
 * gain fields without the store changing.
 */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return { $big: v.toString(16) };
    if (v instanceof Uint8Array) return { $b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
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
    }
    return v;
  });
}
