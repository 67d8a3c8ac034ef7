import type { HookKind, LivepatchAction } from '../xen/domain.js';

/**
 * The hypervisor's livepatch console lines, classified. Xen says why an action failed only on its
 * console (the hypercall returns a bare errno), so the workflows read the ring around each action
 * and turn these lines into typed facts. Formats are Xen 4.17's `livepatch: ...` printks.
 */
export type ConsoleEvent =
  | { readonly kind: 'hook-call'; readonly payload: string; readonly hook: HookKind; readonly rc?: number }
  | { readonly kind: 'hook-veto'; readonly payload: string; readonly hook: 'preapply' | 'prerevert'; readonly rc: number }
  | { readonly kind: 'dependency-failed'; readonly payload: string; readonly against: string }
  | { readonly kind: 'not-top'; readonly payload: string; readonly top: string }
  | { readonly kind: 'not-reapplyable'; readonly payload: string }
  | { readonly kind: 'replace-vetoing-hooks'; readonly payload: string }
  | { readonly kind: 'expectation-failed'; readonly payload: string; readonly detail: string }
  | { readonly kind: 'quiesce-timeout'; readonly payload: string; readonly detail: string }
  | { readonly kind: 'finished'; readonly payload: string; readonly action: LivepatchAction; readonly rc: number }
  /** An INFO-level progress line ("Verifying enabled expectations ...", "Applying N functions", "Reverting"). */
  | { readonly kind: 'info'; readonly payload: string; readonly text: string }
  | { readonly kind: 'other'; readonly payload: string | null; readonly text: string };

export interface ConsoleLine {
  /** The line as the ring holds it, without its end-of-line. */
  readonly raw: string;
  /** The text after `livepatch: `, or null for a line that is not livepatch's. */
  readonly text: string | null;
  /**
   * For a line that belongs to a livepatch message on another line, the index of that line: the
   * rest of a message printed as several lines (the `build-id mismatch:` block of Xen 4.18.4,
   * 4.19.1 and 4.20+), or `apply_alternatives`' `Alt for ...` line that leads into
   * `NAME applying alternatives failed`.
   */
  readonly partOf?: number;
}

const PREFIX = 'livepatch: ';

/** The message of a ring line: what follows Xen's `(XEN) ` prefix (and an optional timestamp). */
function message(raw: string): string {
  return raw.replace(/^\(XEN\) (?:\[[^\]]*\] )?/, '');
}

/** The continuation lines of `check_xen_buildid`'s mismatch message, in order (indented with U+00A0 as Xen's format string is). */
const MISMATCH_CONTINUATION = [/^\u00a0 livepatch: [0-9a-f]*$/, /^\u00a0{7} xen: [0-9a-f]*$/];

/** Splits ring text into lines and finds the livepatch ones, whatever precedes `livepatch: `. */
export function consoleLines(ring: string): ConsoleLine[] {
  const lines: ConsoleLine[] = ring
    .split('\n')
    .filter((l) => l.length > 0)
    .map((raw) => {
      const at = raw.indexOf(PREFIX);
      return { raw, text: at < 0 ? null : raw.slice(at + PREFIX.length) };
    });
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.text;
    if (text === null) continue;
    if (text.endsWith(': build-id mismatch:')) {
      for (const [k, re] of MISMATCH_CONTINUATION.entries()) {
        const j = i + 1 + k;
        if (j >= lines.length || !re.test(message(lines[j]!.raw))) break;
        lines[j] = { raw: lines[j]!.raw, text: null, partOf: i };
      }
    } else if (/ applying alternatives failed: -\d+$/.test(text) && i > 0 && message(lines[i - 1]!.raw).startsWith('Alt for ')) {
      lines[i - 1] = { raw: lines[i - 1]!.raw, text: null, partOf: i };
    }
  }
  return lines;
}

const HOOK_NAMES: Readonly<Record<string, HookKind>> = {
  'pre-apply': 'preapply',
  'post-apply': 'postapply',
  'pre-revert': 'prerevert',
  'post-revert': 'postrevert',
  'apply action': 'apply',
  'revert action': 'revert',
};

const ACTIONS: ReadonlySet<string> = new Set<LivepatchAction>(['APPLY', 'REVERT', 'REPLACE', 'UNLOAD']);

/** Xen prints rc as a C int: a longer number is not one of its messages (a mangled or foreign line). */
function cInt(digits: string): number | null {
  const n = Number(digits);
  return Number.isSafeInteger(n) && n >= -0x8000_0000 && n <= 0x7fff_ffff ? n : null;
}

/**
 * Classifies one line's livepatch text for a known payload name. Names may hold any character
 * but NUL (Xen does not restrict them), so lines are matched against the name we look for rather
 * than split on ':'.
 */
export function classify(text: string, payload: string): ConsoleEvent | null {
  const finished = `${payload} finished `;
  if (text.startsWith(finished)) {
    const m = /^(\w+) with rc=(-?\d+)$/.exec(text.slice(finished.length));
    const rc = m ? cInt(m[2]!) : null;
    if (m && rc !== null && ACTIONS.has(m[1]!)) return { kind: 'finished', payload, action: m[1] as LivepatchAction, rc };
  }
  const own = `${payload}: `;
  if (!text.startsWith(own)) return null;
  const rest = text.slice(own.length);
  let m: RegExpExecArray | null;
  if (
    (m = /^Calling (pre-apply|post-apply|pre-revert|post-revert|apply action|revert action) hook function(?: with rc=(-?\d+))?$/.exec(rest))
  ) {
    const hook = HOOK_NAMES[m[1]!]!;
    if (m[2] === undefined) return { kind: 'hook-call', payload, hook };
    const rc = cInt(m[2]);
    if (rc !== null) return { kind: 'hook-call', payload, hook, rc };
  }
  if ((m = /^(pre-apply|pre-revert) hook failed \(rc=(-?\d+)\), aborting!$/.exec(rest))) {
    const rc = cInt(m[2]!);
    if (rc !== null) return { kind: 'hook-veto', payload, hook: m[1] === 'pre-apply' ? 'preapply' : 'prerevert', rc };
  }
  if ((m = /^check against (.*) build-id failed$/.exec(rest))) return { kind: 'dependency-failed', payload, against: m[1]! };
  if ((m = /^can't unload\. Top is (.*)$/.exec(rest))) return { kind: 'not-top', payload, top: m[1]! };
  if (rest === "can't revert as payload has .data. Please unload") return { kind: 'not-reapplyable', payload };
  if (rest.startsWith('REPLACE action is not supported on livepatches with vetoing hooks'))
    return { kind: 'replace-vetoing-hooks', payload };
  if (rest.startsWith('expectation') || rest.startsWith('expectations of ') || rest.startsWith('SYSTEM MIGHT BE INSECURE')) {
    return { kind: 'expectation-failed', payload, detail: rest };
  }
  if (rest.startsWith('Timed out on semaphore')) return { kind: 'quiesce-timeout', payload, detail: rest };
  if (rest === 'Verifying enabled expectations for all functions' || /^Applying \d+ functions$/.test(rest) || rest === 'Reverting') {
    return { kind: 'info', payload, text: rest };
  }
  return { kind: 'other', payload, text: rest };
}

/**
 * Whether a line is one Xen prints at XENLOG_INFO. At the release default loglvl these are dropped,
 * so seeing one means the console shows INFO lines and the action's "finished" line will follow.
 * Xen prints "Verifying enabled expectations for all functions" on every APPLY (and in REPLACE).
 */
export function isInfoEvent(e: ConsoleEvent): boolean {
  return e.kind === 'info' || e.kind === 'hook-call' || e.kind === 'finished';
}

/**
 * Every livepatch message about `payload` in `ring`, in ring order: its first line raw and
 * classified, and all its lines (with those of a message printed as several lines, see
 * `ConsoleLine.partOf`).
 */
export function eventsFor(ring: string, payload: string): { line: string; lines: string[]; event: ConsoleEvent }[] {
  const out: { line: string; lines: string[]; event: ConsoleEvent }[] = [];
  const all = consoleLines(ring);
  for (const [i, l] of all.entries()) {
    if (l.text === null) continue;
    const event = classify(l.text, payload);
    if (!event) continue;
    const lines = all.flatMap((x, k) => (k === i || x.partOf === i ? [x.raw] : []));
    out.push({ line: l.raw, lines, event });
  }
  return out;
}
