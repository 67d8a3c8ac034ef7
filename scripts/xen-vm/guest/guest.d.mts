// Types of guest.mjs (the guest half of the serial protocol), for the TypeScript guest suite.
export declare const MARKER: string;
export declare function emit(event: { type: string; [k: string]: unknown }): void;
export declare function log(msg: unknown): void;
export declare function result(name: string, ok: boolean, data?: Record<string, unknown>): void;
export declare function done(ok: boolean, data?: Record<string, unknown>): void;
export declare function sendBlob(name: string, buf: Buffer): void;
export declare function sendFile(name: string, path: string): void;
