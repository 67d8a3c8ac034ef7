import type { BuildIdHex, HookKind } from '../xen/domain.js';
import type { AddressRef } from './addresses.js';

export type { AddressRef } from './addresses.js';

/**
 * The payload model: everything the rest of the project needs to know about a livepatch payload,
 * read once from its ELF by `lib/payload/` and shared by preflight, the mock and the workflows.
 * This file is the contract between those layers; the parser fills it.
 */

/** One `.livepatch.hooks.*` pointer and what it targets. */
export interface PayloadHook {
  readonly kind: HookKind;
  /** Index within its section (load/unload sections are arrays). */
  readonly index: number;
  /** The symbol the pointer's relocation targets (e.g. `revert_hook`), or null if none resolves. */
  readonly symbol: string | null;
  /** A null pointer with no relocation: Xen treats it as "no hook" (`is_hook_enabled`). */
  readonly isNull: boolean;
  /**
   * What the pointer targets after relocation (a payload function, a Xen symbol, ...).
   * @internal Preflight reads it; raw relocation targets are not part of the public model (`symbol` is).
   */
  readonly target: AddressRef;
  /** Index of the hook's section. */
  readonly section: number;
  /** Whether the section is loaded (SHF_ALLOC); Xen 4.17 reads an unloaded single hook as "no hook". */
  readonly loaded: boolean;
}

/** A function's expectation (payload version 2): bytes that must be at `old_addr` before APPLY. */
export interface FuncExpectation {
  readonly enabled: boolean;
  readonly len: number;
  readonly rsv: number;
  readonly data: Uint8Array;
}

/** One `struct livepatch_func` entry of `.livepatch.funcs`, with its relocations resolved. */
export interface LivepatchFunc {
  readonly index: number;
  /** Byte offset of the entry within `.livepatch.funcs`. */
  readonly offset: number;
  /** The patched function's name (the string `name` points to), or null if it does not resolve. */
  readonly name: string | null;
  /** `new_addr`: a payload symbol, or 0 for a NOP patch. */
  readonly newSymbol: string | null;
  readonly newAddr: bigint;
  /** `old_addr`: 0 means "resolve `name`"; otherwise an absolute address or a relocated symbol. */
  readonly oldSymbol: string | null;
  readonly oldAddr: bigint;
  readonly newSize: number;
  readonly oldSize: number;
  readonly version: number;
  /** A NOP patch (no `new_addr`): `new_size` bytes at `old_addr` become NOPs. */
  readonly isNop: boolean;
  /** Version 2 only; null for version 1 entries. */
  readonly expect: FuncExpectation | null;
  /**
   * The three pointer fields as relocation targets. `newAddr`/`oldAddr` above are the offsets from
   * `newSymbol`/`oldSymbol` (address = address(symbol) + value), or the absolute value when the
   * symbol is null.
   * @internal Preflight reads them; raw relocation targets are not part of the public model.
   */
  readonly nameTarget: AddressRef;
  /** @internal See `nameTarget`. */
  readonly newTarget: AddressRef;
  /** @internal See `nameTarget`. */
  readonly oldTarget: AddressRef;
}

/** `.modinfo`: NUL-separated strings, documented as `key=value`. */
export interface Modinfo {
  /** The section's raw bytes, as the hypervisor returns them from LIST. */
  readonly raw: Uint8Array;
  /** Each NUL-terminated string, in order. */
  readonly strings: readonly string[];
  /** The strings of the form `key=value`. */
  readonly entries: readonly { readonly key: string; readonly value: string }[];
}

/** A symbol the payload defines in an ALLOC section (what it adds to Xen's symbol table). */
export interface PayloadSymbol {
  readonly name: string;
  readonly section: string;
  readonly value: bigint;
  readonly size: bigint;
  readonly isFunction: boolean;
  readonly isGlobal: boolean;
  /** Index of the section it is defined in. */
  readonly sectionIndex: number;
  /**
   * Its address is some function's `new_addr`: Xen treats it as overriding the old function and
   * does not add it to the hypervisor's symbol table (every other symbol is a "new symbol").
   */
  readonly replacesFunction: boolean;
}

export interface Payload {
  /** Size of the whole file in bytes. */
  readonly size: number;
  /** `.note.gnu.build-id`, or null if missing or unparsable. */
  readonly buildId: BuildIdHex | null;
  /** `.livepatch.depends`: the build-id of the payload (or Xen) this one must be applied on top of. */
  readonly depends: BuildIdHex | null;
  /** `.livepatch.xen_depends`: the hypervisor build-id this payload was built for. */
  readonly xenDepends: BuildIdHex | null;
  /** `struct livepatch_func` entry size in bytes this payload was built with (104 for v2, 72 for v1). */
  readonly funcEntrySize: 72 | 104;
  /** The `.livepatch.funcs` entries, in order. */
  readonly funcs: readonly LivepatchFunc[];
  /** Every hook pointer, in section order and index order. */
  readonly hooks: readonly PayloadHook[];
  readonly modinfo: Modinfo | null;
  /** No RW ALLOC data but `.livepatch.funcs`: the payload may be applied again after a revert. */
  readonly safeToReapply: boolean;
  /** The loaded, writable, non-empty sections (what `safeToReapply` is decided on). */
  readonly rwSections: readonly string[];
  /** Kinds of the enabled (non-null) pre/post hooks; non-empty means REPLACE will be refused. */
  readonly vetoingHooks: readonly HookKind[];
  /** Symbols the payload needs from Xen (or from other payloads). */
  readonly undefinedSymbols: readonly string[];
  /** Symbols the payload defines in loaded sections. */
  readonly symbols: readonly PayloadSymbol[];
}
