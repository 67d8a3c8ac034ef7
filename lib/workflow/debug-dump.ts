import type { BuildIdHex, PayloadState } from '../xen/domain.js';

/**
 * Parses the hypervisor's answer to debug key `x` (`livepatch_printall`): every payload in upload
 * order with its state, build-id, dependencies and patched functions. This is the only place the
 * hypervisor tells which build-ids its payloads carry, including payloads other tools uploaded.
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
  readonly xenBuildId: BuildIdHex | null;
  readonly payloads: readonly DumpedPayload[];
  /** Xen could not take its payload lock ("Lock held. Try again."): the dump is incomplete. */
  readonly incomplete: boolean;
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
  let xenBuildId: BuildIdHex | null = null;
  let incomplete = false;
  const payloads: DumpedPayload[] = [];
  type Mutable = { -readonly [K in keyof DumpedPayload]: DumpedPayload[K] } & { metadata: string[]; funcs: DumpedFunc[] };
  let current: Mutable | null = null;
  const flush = (): void => {
    if (current) payloads.push(current);
    current = null;
  };
  for (const line of lines.slice(start + 1)) {
    let m: RegExpExecArray | null;
    if ((m = /^build-id: ([0-9a-f]+)$/.exec(line)) && payloads.length === 0 && current === null) {
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
  return { xenBuildId, payloads, incomplete };
}
