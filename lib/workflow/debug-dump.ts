import type { BuildIdHex, PayloadState } from '../xen/domain.js';

/**
 * Parses the hypervisor's answer to debug key `x` (`livepatch_printall`): every payload in upload
 * order with its state, build-id, dependencies and patched functions. This is the only place the
 * hypervisor tells which build-ids its payloads carry, including payloads other tools uploaded.
 *
 * The dump goes through the console ring, which keeps only its last bytes (16 KiB by default on a
 * host with few CPUs, about 300 bytes a payload): a long dump loses its beginning, header included,
 * possibly mid-line. What survives is a tail of whole payload blocks, each of which still proves its
 * payload's build-id and dependencies; `parseDumpTail` reads those.
 */
export interface DumpedFunc {
  readonly name: string;
  readonly oldAddr: string;
  readonly oldSize: number;
  readonly newAddr: string;
  readonly newSize: number;
}

export interface DumpedPayload {
  readonly name: string;
  readonly state: PayloadState;
  readonly buildId: BuildIdHex | null;
  readonly dependsOn: BuildIdHex | null;
  readonly dependsOnXen: BuildIdHex | null;
  readonly metadata: readonly string[];
  readonly funcs: readonly DumpedFunc[];
}

export interface DebugDump {
  /** The header's hypervisor build-id; null when the header did not survive (or Xen has none). */
  readonly xenBuildId: BuildIdHex | null;
  /** Whole payload blocks, in upload order. */
  readonly payloads: readonly DumpedPayload[];
  /** Xen could not take its payload lock ("Lock held. Try again."): the dump is incomplete. */
  readonly incomplete: boolean;
  /**
   * The ring had overwritten the dump's beginning: `payloads` are the blocks that survived whole,
   * the last ones in upload order; whatever came before them is unknown.
   */
  readonly truncated: boolean;
}

export const DUMP_HEADER = "'x' pressed - Dumping all livepatch patches";

/** Strips what the console puts before the message: `(XEN) ` and an optional timestamp. */
function message(raw: string): string {
  return raw.replace(/^\(XEN\) (?:\[[^\]]*\] )?/, '');
}

const PAYLOAD_LINE = /^ name=(.*) state=(CHECKED|APPLIED)\(\d+\) \S+ \(\.data=\S+, \.rodata=\S+\) using \d+ pages\.$/;
const FUNC_LINE = /^ {4}(.*) patch (\S+)\((\d+)\) with (\S+) \((\d+)\)$/;
const META_LINE = /^livepatch: {3}(.*)$/;

/** Parses the last `x` dump found in console text; null when there is none. */
export function parseDebugDump(ring: string): DebugDump | null {
  const lines = ring.split('\n').map(message);
  const start = lines.lastIndexOf(DUMP_HEADER);
  if (start < 0) return null;
  return parseBlocks(lines.slice(start + 1), false);
}

/**
 * Parses console text that was read after pressing `x` but no longer holds the dump's header: the
 * ring overwrote it. The first line may be cut anywhere and lines before the first ` name=` line
 * belong to a payload whose block is lost, so both are skipped; every block after them is whole.
 * Null when the text holds no whole block (nothing of the dump is provable).
 */
export function parseDumpTail(text: string): DebugDump | null {
  const lines = text.split('\n');
  // The first line may begin mid-line: never trust it.
  const rest = lines.slice(1).map(message);
  const first = rest.findIndex((l) => PAYLOAD_LINE.test(l));
  if (first < 0) return null;
  const dump = parseBlocks(rest.slice(first), true);
  return dump.payloads.length ? dump : null;
}

type Mutable = { -readonly [K in keyof DumpedPayload]: DumpedPayload[K] } & { metadata: string[]; funcs: DumpedFunc[] };

function parseBlocks(lines: readonly string[], truncated: boolean): DebugDump {
  let xenBuildId: BuildIdHex | null = null;
  let incomplete = false;
  const payloads: DumpedPayload[] = [];
  let current: Mutable | null = null;
  const flush = (): void => {
    if (current) payloads.push(current);
    current = null;
  };
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if (!truncated && (m = /^build-id: ([0-9a-f]+)$/.exec(line)) && payloads.length === 0 && current === null) {
      xenBuildId = m[1]!;
    } else if ((m = PAYLOAD_LINE.exec(line))) {
      flush();
      current = { name: m[1]!, state: m[2] as PayloadState, buildId: null, dependsOn: null, dependsOnXen: null, metadata: [], funcs: [] };
    } else if (current && (m = FUNC_LINE.exec(line))) {
      current.funcs.push({ name: m[1]!, oldAddr: m[2]!, oldSize: Number(m[3]), newAddr: m[4]!, newSize: Number(m[5]) });
    } else if (current && line === 'livepatch: module metadata:') {
      // The strings follow, one per line.
    } else if (current && (m = META_LINE.exec(line))) {
      current.metadata.push(m[1]!);
    } else if (current && (m = /^build-id=([0-9a-f]+)$/.exec(line))) {
      current.buildId = m[1]!;
    } else if (current && (m = /^depend-on=([0-9a-f]+)$/.exec(line))) {
      current.dependsOn = m[1]!;
    } else if (current && (m = /^depend-on-xen=([0-9a-f]+)$/.exec(line))) {
      current.dependsOnXen = m[1]!;
    } else if (line === 'Lock held. Try again.' || line === "Couldn't reacquire lock. Try again.") {
      // Xen gave up mid-way: the payload being printed has lost its build-id lines.
      current = null;
      incomplete = true;
      break;
    } else if (line.trim() === '') {
      continue;
    } else {
      // The dump is over: whatever follows was printed by someone else.
      break;
    }
  }
  flush();
  return { xenBuildId, payloads, incomplete, truncated };
}
