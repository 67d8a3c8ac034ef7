/**
 * The parity scenarios (facts file §5): Xen's in-tree livepatch test payloads and the payload-less
 * cases, with the outcome Xen 4.17.7's code gives for every step (and, where a line differs by
 * version, what later versions print: see `VersionedConsolePattern`). Console expectations assume the
 * reference hypervisor's `loglvl=all` (INFO lines shown); upload names are the in-tree file names.
 *
 * `mock.hooks` re-expresses what each payload's C hooks do (rc, printed lines, calls into Xen), so
 * the mock's console matches the real one line for line.
 */
import type { HookScript, HookSelector } from '../mock/hooks.js';
import { ERRNO } from '../xen/errno.js';
import type { ParityScenario } from './types.js';

const EAGAIN = -ERRNO.EAGAIN;
const EBUSY = -ERRNO.EBUSY;
const EINVAL = -ERRNO.EINVAL;
const EPERM = -ERRNO.EPERM;

const CHECKED = (rc = 0) => ({ state: 'CHECKED', rc }) as const;
const APPLIED = (rc = 0) => ({ state: 'APPLIED', rc }) as const;

/** The "<fn>: Hook starting." / "<fn>: Hook done." lines every in-tree hook prints (KERN_DEBUG). */
function hook(fn: string, extra: Omit<HookScript, 'printk'> = {}): HookScript {
  const start = `<3>${fn}: Hook starting.`;
  const done = `<3>${fn}: Hook done.`;
  if (extra.calls?.length) return { ...extra, printk: [start], printkAfter: [done] };
  if (extra.bug) return { ...extra, printk: [start] };
  return { ...extra, printk: [start, done] };
}
const on = (payload: string, symbol: string, script: HookScript): { selector: HookSelector; script: HookScript } => ({
  selector: { payload, symbol },
  script,
});

/** xen_hello_world's hooks; `name` is the upload name (each upload has its own counter, as its .bss). */
const helloHooks = (name: string, unloadCount: number) => [
  on(name, 'apply_hook', { printk: ['<3>Hook executing.'] }),
  on(name, 'revert_hook', { printk: ['<3>Hook unloaded.'] }),
  on(name, 'hi_func', { printk: ['<3>hi_func: Hi! (called {n} times)'] }),
  on(name, 'check_fnc', { printk: [`<3>check_fnc: Hi func called ${unloadCount} times`] }),
];

const prepostHooks = (name: string) => [
  on(name, 'pre_apply_hook', hook('pre_apply_hook')),
  on(name, 'post_apply_hook', hook('post_apply_hook')),
  // pre_revert returns -(retry--): -1 on the first call, 0 afterwards.
  on(name, 'pre_revert_hook', hook('pre_revert_hook', { rc: [-1, 0] })),
  on(name, 'post_revert_hook', hook('post_revert_hook')),
];

const HELLO = 'xen_hello_world';
const BYE = 'xen_bye_world';
const REPLACE = 'xen_replace_world';
const NOP = 'xen_nop';
const PREPOST = 'xen_prepost_hooks';

const lp = (s: string) => `livepatch: ${s}`;
const applyLines = (name: string, nfuncs: number) => [
  lp(`${name}: Verifying enabled expectations for all functions`),
  lp(`${name}: Applying ${nfuncs} functions`),
];
const finished = (name: string, action: string, rc = 0) => lp(`${name} finished ${action} with rc=${rc}`);

export const PARITY_SCENARIOS: readonly ParityScenario[] = [
  {
    id: 'hello-world',
    title: 'xen_hello_world: load hooks on apply, unload hooks on revert, no re-apply after revert',
    source: 'xen/test/livepatch/xen_hello_world.c',
    payloads: ['hello_world'],
    mock: { hooks: [...helloHooks(HELLO, 2), ...helloHooks('xen_hello_world_again', 2)] },
    steps: [
      { op: 'upload', name: HELLO, payload: 'hello_world', expect: { result: 'ok', status: CHECKED(), console: [], hooks: [] } },
      { op: 'get', name: HELLO, expect: { result: 'ok', status: CHECKED() } },
      {
        op: 'list',
        expect: { result: 'ok', list: [{ name: HELLO, state: 'CHECKED', rc: 0, metadata: 'LIVEPATCH_RULEZ\0' }] },
      },
      {
        op: 'apply',
        name: HELLO,
        expect: {
          result: 'ok',
          status: APPLIED(),
          console: [
            ...applyLines(HELLO, 1),
            'Hook executing.',
            'hi_func: Hi! (called 1 times)',
            lp('module metadata:'),
            lp('  LIVEPATCH_RULEZ'),
            finished(HELLO, 'APPLY'),
          ],
          hooks: [
            { kind: 'load', symbol: 'apply_hook' },
            { kind: 'load', symbol: 'hi_func' },
          ],
        },
      },
      // Xen does nothing, silently, for an action on a payload in the wrong state.
      { op: 'apply', name: HELLO, expect: { result: 'ok', status: APPLIED(), hooks: [], consoleAbsent: ['livepatch'] } },
      {
        op: 'debug-key',
        key: 'x',
        expect: {
          result: 'ok',
          console: [
            "'x' pressed - Dumping all livepatch patches",
            'build-id: {xen}',
            new RegExp(
              String.raw`^\(XEN\)  name=xen_hello_world state=APPLIED\(2\) [0-9a-f]{16} ` +
                String.raw`\(\.data=[0-9a-f]{16}, \.rodata=[0-9a-f]{16}\) using \d+ pages\.$`,
            ),
            lp('module metadata:'),
            lp('  LIVEPATCH_RULEZ'),
            /^\(XEN\)     xen_extra_version patch [0-9a-f]{16}\(\d+\) with [0-9a-f]{16} \(\d+\)$/,
            'build-id={id:hello_world}',
            'depend-on={xen}',
            // Dropped with the early build-id check (4.18.4, 4.19.1, 4.20).
            { feature: 'xen-build-id-first', with: null, without: 'depend-on-xen={xen}' },
          ],
          consoleAbsent: [{ feature: 'xen-build-id-first', with: 'depend-on-xen', without: null }],
        },
      },
      {
        op: 'revert',
        name: HELLO,
        expect: {
          result: 'ok',
          status: CHECKED(),
          console: [
            lp(`${HELLO}: Reverting`),
            'Hook unloaded.',
            'hi_func: Hi! (called 2 times)',
            'check_fnc: Hi func called 2 times',
            finished(HELLO, 'REVERT'),
          ],
          hooks: [
            { kind: 'unload', symbol: 'revert_hook' },
            { kind: 'unload', symbol: 'hi_func' },
            { kind: 'unload', symbol: 'check_fnc' },
          ],
        },
      },
      { op: 'revert', name: HELLO, expect: { result: 'ok', status: CHECKED(), hooks: [], consoleAbsent: ['livepatch'] } },
      // A reverted payload with .bss: the hypercall succeeds, the status says EINVAL.
      {
        op: 'apply',
        name: HELLO,
        expect: {
          result: 'ok',
          status: CHECKED(EINVAL),
          console: [lp(`${HELLO}: can't revert as payload has .data. Please unload`)],
          hooks: [],
        },
      },
      { op: 'unload', name: HELLO, expect: { result: 'ok', status: 'absent', console: [] } },
      { op: 'get', name: HELLO, expect: { result: 'ENOENT', status: 'absent' } },
      // Unloaded and uploaded again, it applies (fresh .bss).
      { op: 'upload', name: 'xen_hello_world_again', payload: 'hello_world', expect: { result: 'ok', status: CHECKED() } },
      {
        op: 'apply',
        name: 'xen_hello_world_again',
        expect: { result: 'ok', status: APPLIED(), console: ['hi_func: Hi! (called 1 times)', finished('xen_hello_world_again', 'APPLY')] },
      },
      { op: 'revert', name: 'xen_hello_world_again', expect: { result: 'ok', status: CHECKED() } },
      { op: 'unload', name: 'xen_hello_world_again', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'bye-world-stack',
    title: 'xen_bye_world: build-id dependency on xen_hello_world, top-only revert, --nodeps',
    source: 'xen/test/livepatch/xen_bye_world.c',
    payloads: ['hello_world', 'bye_world'],
    mock: { hooks: helloHooks(HELLO, 2) },
    steps: [
      { op: 'upload', name: HELLO, payload: 'hello_world', expect: { result: 'ok', status: CHECKED() } },
      { op: 'upload', name: BYE, payload: 'bye_world', expect: { result: 'ok', status: CHECKED() } },
      {
        op: 'apply',
        name: BYE,
        expect: { result: 'EINVAL', status: CHECKED(), console: [lp(`${BYE}: check against hypervisor build-id failed`)], hooks: [] },
      },
      { op: 'apply', name: HELLO, expect: { result: 'ok', status: APPLIED() } },
      {
        op: 'apply',
        name: BYE,
        expect: {
          result: 'ok',
          status: APPLIED(),
          console: [...applyLines(BYE, 1), finished(BYE, 'APPLY')],
          consoleAbsent: ['module metadata'],
        },
      },
      {
        op: 'revert',
        name: HELLO,
        expect: { result: 'EBUSY', status: APPLIED(), console: [lp(`${HELLO}: can't unload. Top is ${BYE}`)], hooks: [] },
      },
      { op: 'unload', name: BYE, expect: { result: 'EINVAL', status: APPLIED(), console: [] } },
      { op: 'revert', name: BYE, expect: { result: 'ok', status: CHECKED(), console: [lp(`${BYE}: Reverting`), finished(BYE, 'REVERT')] } },
      { op: 'revert', name: HELLO, expect: { result: 'ok', status: CHECKED() } },
      // Empty stack again: bye depends on hello, so only --nodeps applies it.
      {
        op: 'apply',
        name: BYE,
        expect: { result: 'EINVAL', status: CHECKED(), console: [lp(`${BYE}: check against hypervisor build-id failed`)] },
      },
      { op: 'apply', name: BYE, nodeps: true, expect: { result: 'ok', status: APPLIED(), console: [finished(BYE, 'APPLY')] } },
      { op: 'revert', name: BYE, expect: { result: 'ok', status: CHECKED() } },
      { op: 'unload', name: BYE, expect: { result: 'ok', status: 'absent' } },
      { op: 'unload', name: HELLO, expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'replace-world',
    title: 'xen_replace_world: REPLACE reverts the whole stack top-first, then applies',
    source: 'xen/test/livepatch/xen_replace_world.c',
    payloads: ['hello_world', 'bye_world', 'replace_world'],
    mock: { hooks: helloHooks(HELLO, 2) },
    steps: [
      { op: 'upload', name: HELLO, payload: 'hello_world', expect: { result: 'ok' } },
      { op: 'upload', name: BYE, payload: 'bye_world', expect: { result: 'ok' } },
      { op: 'upload', name: REPLACE, payload: 'replace_world', expect: { result: 'ok' } },
      { op: 'apply', name: HELLO, expect: { result: 'ok', status: APPLIED() } },
      { op: 'apply', name: BYE, expect: { result: 'ok', status: APPLIED() } },
      // REPLACE wants a payload built against the hypervisor, and ignores --nodeps.
      { op: 'replace', name: BYE, expect: { result: 'ok', status: APPLIED(), consoleAbsent: ['livepatch'] } },
      { op: 'revert', name: BYE, expect: { result: 'ok', status: CHECKED() } },
      {
        op: 'replace',
        name: BYE,
        nodeps: true,
        expect: { result: 'EINVAL', status: CHECKED(), console: [lp(`${BYE}: check against hypervisor build-id failed`)] },
      },
      { op: 'apply', name: BYE, expect: { result: 'ok', status: APPLIED() } },
      {
        op: 'replace',
        name: REPLACE,
        expect: {
          result: 'ok',
          status: APPLIED(),
          statuses: { [HELLO]: CHECKED(), [BYE]: CHECKED() },
          console: [
            lp(`${BYE}: Reverting`),
            lp(`${HELLO}: Reverting`),
            'check_fnc: Hi func called 2 times',
            ...applyLines(REPLACE, 1),
            finished(REPLACE, 'REPLACE'),
          ],
          hooks: [
            { kind: 'unload', payload: HELLO, symbol: 'revert_hook' },
            { kind: 'unload', payload: HELLO, symbol: 'hi_func' },
            { kind: 'unload', payload: HELLO, symbol: 'check_fnc' },
          ],
        },
      },
      // Replaced payloads are "reverted": hello (with .bss) cannot come back.
      { op: 'revert', name: HELLO, expect: { result: 'ok', status: CHECKED(), consoleAbsent: ['livepatch'] } },
      {
        op: 'apply',
        name: HELLO,
        nodeps: true,
        expect: { result: 'ok', status: CHECKED(EINVAL), console: [lp(`${HELLO}: can't revert as payload has .data. Please unload`)] },
      },
      {
        op: 'revert',
        name: REPLACE,
        expect: { result: 'ok', status: CHECKED(), console: [lp(`${REPLACE}: Reverting`), finished(REPLACE, 'REVERT')] },
      },
      { op: 'unload', name: REPLACE, expect: { result: 'ok', status: 'absent' } },
      { op: 'unload', name: BYE, expect: { result: 'ok', status: 'absent' } },
      { op: 'unload', name: HELLO, expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'nop',
    title: 'xen_nop: NOP patch at an absolute address, re-applicable',
    source: 'xen/test/livepatch/xen_nop.c',
    payloads: ['nop'],
    steps: [
      { op: 'upload', name: NOP, payload: 'nop', expect: { result: 'ok', status: CHECKED() } },
      { op: 'apply', name: NOP, expect: { result: 'ok', status: APPLIED(), console: [...applyLines(NOP, 1), finished(NOP, 'APPLY')] } },
      {
        op: 'debug-key',
        key: 'x',
        expect: {
          result: 'ok',
          console: [
            / name=xen_nop state=APPLIED\(2\) /,
            /^\(XEN\)     <NULL> patch [0-9a-f]{16}\(\d+\) with 0000000000000000 \(\d+\)$/,
            'build-id={id:nop}',
          ],
        },
      },
      { op: 'revert', name: NOP, expect: { result: 'ok', status: CHECKED(), console: [lp(`${NOP}: Reverting`), finished(NOP, 'REVERT')] } },
      // No writable data: safe to re-apply.
      { op: 'apply', name: NOP, expect: { result: 'ok', status: APPLIED() } },
      { op: 'revert', name: NOP, expect: { result: 'ok', status: CHECKED() } },
      { op: 'unload', name: NOP, expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'no-xen-buildid',
    title: 'xen_no_xen_buildid: no .livepatch.xen_depends, refused at upload',
    source: 'xen/test/livepatch/Makefile (xen_no_xen_buildid)',
    payloads: ['no_xen_buildid'],
    steps: [
      {
        op: 'upload',
        name: 'xen_no_xen_buildid',
        payload: 'no_xen_buildid',
        expect: {
          result: 'EINVAL',
          status: 'absent',
          console: [
            {
              feature: 'xen-build-id-first',
              with: lp('xen_no_xen_buildid: section .livepatch.xen_depends is missing'),
              without: lp('xen_no_xen_buildid: .livepatch.xen_depends is missing'),
            },
          ],
        },
      },
      { op: 'list', expect: { result: 'ok', list: [] } },
    ],
  },

  {
    id: 'prepost-hooks',
    title: 'xen_prepost_hooks: pre/post hooks around apply and revert; a vetoing pre-revert; REPLACE refused',
    source: 'xen/test/livepatch/xen_prepost_hooks.c',
    payloads: ['prepost_hooks', 'replace_world'],
    mock: { hooks: prepostHooks(PREPOST) },
    steps: [
      { op: 'upload', name: PREPOST, payload: 'prepost_hooks', expect: { result: 'ok', status: CHECKED() } },
      { op: 'upload', name: REPLACE, payload: 'replace_world', expect: { result: 'ok', status: CHECKED() } },
      {
        op: 'apply',
        name: PREPOST,
        expect: {
          result: 'ok',
          status: APPLIED(),
          console: [
            lp(`${PREPOST}: Verifying enabled expectations for all functions`),
            lp(`${PREPOST}: Calling pre-apply hook function`),
            'pre_apply_hook: Hook done.',
            lp(`${PREPOST}: Applying 1 functions`),
            lp(`${PREPOST}: Calling post-apply hook function with rc=0`),
            'post_apply_hook: Hook done.',
            finished(PREPOST, 'APPLY'),
          ],
          hooks: [
            { kind: 'preapply', rc: 0, payloadRc: 0 },
            { kind: 'postapply', payloadRc: 0 },
          ],
        },
      },
      // An applied payload with pre/post hooks blocks any REPLACE.
      {
        op: 'replace',
        name: REPLACE,
        expect: {
          result: 'EOPNOTSUPP',
          status: CHECKED(),
          statuses: { [PREPOST]: APPLIED() },
          console: [lp(`${REPLACE}: REPLACE action is not supported on livepatches with vetoing hooks!`)],
          hooks: [],
        },
      },
      {
        op: 'revert',
        name: PREPOST,
        expect: {
          result: 'EPERM',
          status: APPLIED(EPERM),
          console: [
            lp(`${PREPOST}: Calling pre-revert hook function`),
            'pre_revert_hook: Hook done.',
            lp(`${PREPOST}: pre-revert hook failed (rc=-1), aborting!`),
          ],
          consoleAbsent: ['Reverting'],
          hooks: [{ kind: 'prerevert', rc: EPERM, payloadRc: 0 }],
        },
      },
      {
        op: 'revert',
        name: PREPOST,
        expect: {
          result: 'ok',
          status: CHECKED(),
          console: [
            lp(`${PREPOST}: Calling pre-revert hook function`),
            lp(`${PREPOST}: Reverting`),
            lp(`${PREPOST}: Calling post-revert hook function with rc=0`),
            'post_revert_hook: Hook done.',
            finished(PREPOST, 'REVERT'),
          ],
          hooks: [
            { kind: 'prerevert', rc: 0, payloadRc: EPERM },
            { kind: 'postrevert', payloadRc: 0 },
          ],
        },
      },
      // The target itself has vetoing hooks: refused too.
      {
        op: 'replace',
        name: PREPOST,
        expect: {
          result: 'EOPNOTSUPP',
          status: CHECKED(),
          console: [lp(`${PREPOST}: REPLACE action is not supported on livepatches with vetoing hooks!`)],
        },
      },
      // Its hook sections and counters are writable data: not safe to re-apply.
      {
        op: 'apply',
        name: PREPOST,
        expect: {
          result: 'ok',
          status: CHECKED(EINVAL),
          hooks: [],
          console: [lp(`${PREPOST}: can't revert as payload has .data. Please unload`)],
        },
      },
      { op: 'unload', name: PREPOST, expect: { result: 'ok', status: 'absent' } },
      { op: 'unload', name: REPLACE, expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'prepost-hooks-fail',
    title: 'xen_prepost_hooks_fail: a failing pre-apply hook aborts the apply; no other hook runs',
    source: 'xen/test/livepatch/xen_prepost_hooks_fail.c',
    payloads: ['prepost_hooks_fail'],
    mock: {
      hooks: [
        on('xen_prepost_hooks_fail', 'pre_apply_hook', hook('pre_apply_hook', { rc: EINVAL })),
        on('xen_prepost_hooks_fail', 'unreachable_pre_hook', hook('unreachable_pre_hook', { bug: true })),
        on('xen_prepost_hooks_fail', 'unreachable_post_hook', hook('unreachable_post_hook', { bug: true })),
      ],
    },
    steps: [
      { op: 'upload', name: 'xen_prepost_hooks_fail', payload: 'prepost_hooks_fail', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: 'xen_prepost_hooks_fail',
        expect: {
          result: 'EINVAL',
          status: CHECKED(EINVAL),
          console: [
            lp('xen_prepost_hooks_fail: Calling pre-apply hook function'),
            lp('xen_prepost_hooks_fail: pre-apply hook failed (rc=-22), aborting!'),
          ],
          consoleAbsent: ['Applying', 'post-apply', 'finished'],
          hooks: [{ kind: 'preapply', rc: EINVAL }],
        },
      },
      { op: 'revert', name: 'xen_prepost_hooks_fail', expect: { result: 'ok', status: CHECKED(EINVAL), hooks: [] } },
      { op: 'unload', name: 'xen_prepost_hooks_fail', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'action-hooks',
    title: 'xen_action_hooks: apply/revert action hooks replace Xen\'s patching; no "Applying" line',
    source: 'xen/test/livepatch/xen_action_hooks.c',
    payloads: ['action_hooks'],
    needsXenInternals: 'the action hooks set fstate[i].applied through struct payload (4.17.x x86-64 layout)',
    mock: {
      hooks: [
        on('xen_action_hooks', 'apply_hook', hook('apply_hook')),
        on('xen_action_hooks', 'revert_hook', hook('revert_hook')),
        on('xen_action_hooks', 'post_revert_hook', hook('post_revert_hook')),
      ],
    },
    steps: [
      { op: 'upload', name: 'xen_action_hooks', payload: 'action_hooks', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: 'xen_action_hooks',
        expect: {
          result: 'ok',
          status: APPLIED(),
          console: [
            lp('xen_action_hooks: Verifying enabled expectations for all functions'),
            lp('xen_action_hooks: Calling apply action hook function'),
            'apply_hook: Hook done.',
            finished('xen_action_hooks', 'APPLY'),
          ],
          consoleAbsent: ['Applying'],
          hooks: [{ kind: 'apply', rc: 0, payloadRc: EAGAIN }],
        },
      },
      {
        op: 'revert',
        name: 'xen_action_hooks',
        expect: {
          result: 'ok',
          status: CHECKED(),
          console: [
            lp('xen_action_hooks: Calling revert action hook function'),
            lp('xen_action_hooks: Calling post-revert hook function with rc=0'),
            'post_revert_hook: Hook done.',
            finished('xen_action_hooks', 'REVERT'),
          ],
          consoleAbsent: ['Reverting'],
          hooks: [
            { kind: 'revert', rc: 0, payloadRc: EAGAIN },
            { kind: 'postrevert', payloadRc: 0 },
          ],
        },
      },
      { op: 'unload', name: 'xen_action_hooks', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'action-hooks-nofunc',
    title: 'xen_action_hooks_nofunc: a payload made only of hooks',
    source: 'xen/test/livepatch/xen_action_hooks_nofunc.c',
    payloads: ['action_hooks_nofunc'],
    mock: {
      hooks: [
        on('xen_action_hooks_nofunc', 'apply_hook', hook('apply_hook')),
        on('xen_action_hooks_nofunc', 'revert_hook', hook('revert_hook')),
        on('xen_action_hooks_nofunc', 'post_revert_hook', hook('post_revert_hook')),
      ],
    },
    steps: [
      { op: 'upload', name: 'xen_action_hooks_nofunc', payload: 'action_hooks_nofunc', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: 'xen_action_hooks_nofunc',
        expect: {
          result: 'ok',
          status: APPLIED(),
          console: [lp('xen_action_hooks_nofunc: Calling apply action hook function'), finished('xen_action_hooks_nofunc', 'APPLY')],
          hooks: [{ kind: 'apply', rc: 0 }],
        },
      },
      {
        op: 'debug-key',
        key: 'x',
        expect: {
          result: 'ok',
          console: [/ name=xen_action_hooks_nofunc state=APPLIED\(2\) /, 'build-id={id:action_hooks_nofunc}'],
          consoleAbsent: [' patch '],
        },
      },
      {
        op: 'revert',
        name: 'xen_action_hooks_nofunc',
        expect: {
          result: 'ok',
          status: CHECKED(),
          console: [
            lp('xen_action_hooks_nofunc: Calling revert action hook function'),
            lp('xen_action_hooks_nofunc: Calling post-revert hook function with rc=0'),
            finished('xen_action_hooks_nofunc', 'REVERT'),
          ],
          hooks: [{ kind: 'revert', rc: 0 }, { kind: 'postrevert' }],
        },
      },
      { op: 'unload', name: 'xen_action_hooks_nofunc', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'action-hooks-marker',
    title: "xen_action_hooks_marker: pre/post hooks around Xen's own patching see the applied markers",
    source: 'xen/test/livepatch/xen_action_hooks_marker.c',
    payloads: ['action_hooks_marker'],
    needsXenInternals: 'the hooks read fstate[i].applied through struct payload (4.17.x x86-64 layout)',
    mock: {
      hooks: ['pre_apply_hook', 'post_apply_hook', 'pre_revert_hook', 'post_revert_hook'].map((f) =>
        on('xen_action_hooks_marker', f, hook(f)),
      ),
    },
    steps: [
      { op: 'upload', name: 'xen_action_hooks_marker', payload: 'action_hooks_marker', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: 'xen_action_hooks_marker',
        expect: {
          result: 'ok',
          status: APPLIED(),
          console: [
            lp('xen_action_hooks_marker: Calling pre-apply hook function'),
            lp('xen_action_hooks_marker: Applying 1 functions'),
            lp('xen_action_hooks_marker: Calling post-apply hook function with rc=0'),
            finished('xen_action_hooks_marker', 'APPLY'),
          ],
          hooks: [{ kind: 'preapply', rc: 0 }, { kind: 'postapply' }],
        },
      },
      {
        op: 'revert',
        name: 'xen_action_hooks_marker',
        expect: {
          result: 'ok',
          status: CHECKED(),
          console: [
            lp('xen_action_hooks_marker: Calling pre-revert hook function'),
            lp('xen_action_hooks_marker: Reverting'),
            lp('xen_action_hooks_marker: Calling post-revert hook function with rc=0'),
            finished('xen_action_hooks_marker', 'REVERT'),
          ],
          hooks: [{ kind: 'prerevert', rc: 0 }, { kind: 'postrevert' }],
        },
      },
      { op: 'unload', name: 'xen_action_hooks_marker', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'action-hooks-noapply',
    title: 'xen_action_hooks_noapply: the apply action fails consistently; post-apply still runs with rc=-22',
    source: 'xen/test/livepatch/xen_action_hooks_noapply.c',
    payloads: ['action_hooks_noapply'],
    mock: {
      hooks: [
        on('xen_action_hooks_noapply', 'apply_hook', hook('apply_hook', { rc: EINVAL })),
        ...['pre_apply_hook', 'post_apply_hook', 'pre_revert_hook', 'post_revert_hook'].map((f) =>
          on('xen_action_hooks_noapply', f, hook(f)),
        ),
      ],
    },
    steps: [
      { op: 'upload', name: 'xen_action_hooks_noapply', payload: 'action_hooks_noapply', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: 'xen_action_hooks_noapply',
        expect: {
          result: 'ok',
          status: CHECKED(EINVAL),
          console: [
            lp('xen_action_hooks_noapply: Calling pre-apply hook function'),
            lp('xen_action_hooks_noapply: Calling apply action hook function'),
            lp('xen_action_hooks_noapply: Calling post-apply hook function with rc=-22'),
            finished('xen_action_hooks_noapply', 'APPLY', EINVAL),
          ],
          consoleAbsent: ['Applying', 'inconsistent'],
          hooks: [
            { kind: 'preapply', rc: 0, payloadRc: 0 },
            { kind: 'apply', rc: EINVAL, payloadRc: EAGAIN },
            { kind: 'postapply', payloadRc: EINVAL },
          ],
        },
      },
      { op: 'revert', name: 'xen_action_hooks_noapply', expect: { result: 'ok', status: CHECKED(EINVAL), hooks: [] } },
      { op: 'unload', name: 'xen_action_hooks_noapply', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'action-hooks-norevert',
    title: 'xen_action_hooks_norevert: the revert action fails; post-revert reverts for real; ends CHECKED with rc=-22',
    source: 'xen/test/livepatch/xen_action_hooks_norevert.c',
    payloads: ['action_hooks_norevert'],
    mock: {
      hooks: [
        on('xen_action_hooks_norevert', 'revert_hook', hook('revert_hook', { rc: EINVAL })),
        on('xen_action_hooks_norevert', 'post_revert_hook', hook('post_revert_hook', { calls: ['revert_payload', 'revert_payload_tail'] })),
        ...['pre_apply_hook', 'post_apply_hook', 'pre_revert_hook'].map((f) => on('xen_action_hooks_norevert', f, hook(f))),
      ],
    },
    steps: [
      { op: 'upload', name: 'xen_action_hooks_norevert', payload: 'action_hooks_norevert', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: 'xen_action_hooks_norevert',
        expect: {
          result: 'ok',
          status: APPLIED(),
          console: [lp('xen_action_hooks_norevert: Applying 1 functions'), finished('xen_action_hooks_norevert', 'APPLY')],
          hooks: [
            { kind: 'preapply', rc: 0 },
            { kind: 'postapply', payloadRc: 0 },
          ],
        },
      },
      {
        op: 'revert',
        name: 'xen_action_hooks_norevert',
        expect: {
          result: 'ok',
          status: CHECKED(EINVAL),
          console: [
            lp('xen_action_hooks_norevert: Calling pre-revert hook function'),
            lp('xen_action_hooks_norevert: Calling revert action hook function'),
            lp('xen_action_hooks_norevert: Calling post-revert hook function with rc=-22'),
            'post_revert_hook: Hook starting.',
            lp('xen_action_hooks_norevert: Reverting'),
            'post_revert_hook: Hook done.',
            finished('xen_action_hooks_norevert', 'REVERT', EINVAL),
          ],
          hooks: [
            { kind: 'prerevert', rc: 0 },
            { kind: 'revert', rc: EINVAL, payloadRc: EAGAIN },
            { kind: 'postrevert', payloadRc: EINVAL },
          ],
        },
      },
      { op: 'unload', name: 'xen_action_hooks_norevert', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'expectations',
    title: 'xen_expectations: the bytes at old_addr match, apply succeeds',
    source: 'xen/test/livepatch/xen_expectations.c (XLP_EXPECT_BYTES must be the real first 8 bytes of xen_extra_version)',
    payloads: ['expectations'],
    steps: [
      { op: 'upload', name: 'xen_expectations', payload: 'expectations', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: 'xen_expectations',
        expect: {
          result: 'ok',
          status: APPLIED(),
          console: [...applyLines('xen_expectations', 1), finished('xen_expectations', 'APPLY')],
          consoleAbsent: ['expectation failed'],
        },
      },
      { op: 'revert', name: 'xen_expectations', expect: { result: 'ok', status: CHECKED() } },
      { op: 'unload', name: 'xen_expectations', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'expectations-fail',
    title: 'xen_expectations_fail: a mismatching expectation fails APPLY synchronously, status untouched',
    source: 'xen/test/livepatch/xen_expectations_fail.c',
    payloads: ['expectations_fail'],
    steps: [
      { op: 'upload', name: 'xen_expectations_fail', payload: 'expectations_fail', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: 'xen_expectations_fail',
        expect: {
          result: 'EINVAL',
          status: CHECKED(),
          console: [
            lp('xen_expectations_fail: Verifying enabled expectations for all functions'),
            /livepatch: xen_extra_version: expectation failed: expected:deadc0debabe, actual:[0-9a-f]{12}$/,
            lp('xen_expectations_fail: expectations of xen_extra_version failed (rc=-22), aborting!'),
          ],
          consoleAbsent: ['Applying'],
        },
      },
      { op: 'unload', name: 'xen_expectations_fail', expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'replace-expectations-fail',
    title: "REPLACE whose target's expectations fail after the stack was reverted: SYSTEM MIGHT BE INSECURE",
    source: 'facts §2.6 REPLACE step 3 (livepatch_do_action)',
    payloads: ['hello_world', 'expectations_fail'],
    mock: { hooks: helloHooks(HELLO, 2) },
    steps: [
      { op: 'upload', name: HELLO, payload: 'hello_world', expect: { result: 'ok' } },
      { op: 'upload', name: 'xen_expectations_fail', payload: 'expectations_fail', expect: { result: 'ok' } },
      { op: 'apply', name: HELLO, expect: { result: 'ok', status: APPLIED() } },
      {
        op: 'replace',
        name: 'xen_expectations_fail',
        expect: {
          result: 'ok',
          status: CHECKED(EINVAL),
          statuses: { [HELLO]: CHECKED() },
          console: [
            lp(`${HELLO}: Reverting`),
            lp('xen_expectations_fail: Verifying enabled expectations for all functions'),
            'expectation failed: expected:deadc0debabe',
            lp('xen_expectations_fail: expectations of xen_extra_version failed (rc=-22), aborting!'),
            lp('xen_expectations_fail: SYSTEM MIGHT BE INSECURE: Replace action has been aborted after reverting ALL payloads!'),
            finished('xen_expectations_fail', 'REPLACE', EINVAL),
          ],
        },
      },
      { op: 'unload', name: 'xen_expectations_fail', expect: { result: 'ok', status: 'absent' } },
      { op: 'unload', name: HELLO, expect: { result: 'ok', status: 'absent' } },
    ],
  },

  // ---------------------------------------------------------------- payload-less cases

  {
    id: 'duplicates',
    title: 'UPLOAD of a taken name or of an already loaded build-id: EEXIST (nothing printed)',
    source: 'facts §5 further cases; §2.2, P11',
    payloads: ['nop', 'replace_world'],
    steps: [
      { op: 'upload', name: NOP, payload: 'nop', expect: { result: 'ok' } },
      { op: 'upload', name: NOP, payload: 'replace_world', expect: { result: 'EEXIST', status: CHECKED(), console: [] } },
      { op: 'upload', name: 'xen_nop_twice', payload: 'nop', expect: { result: 'EEXIST', status: 'absent', console: [] } },
      { op: 'unload', name: NOP, expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'unload-applied',
    title: 'UNLOAD of an APPLIED payload: EINVAL, nothing printed',
    source: 'facts §5 further cases; §2.5 UNLOAD',
    payloads: ['nop'],
    steps: [
      { op: 'upload', name: NOP, payload: 'nop', expect: { result: 'ok' } },
      { op: 'apply', name: NOP, expect: { result: 'ok', status: APPLIED() } },
      { op: 'unload', name: NOP, expect: { result: 'EINVAL', status: APPLIED(), console: [] } },
      { op: 'revert', name: NOP, expect: { result: 'ok', status: CHECKED() } },
      { op: 'unload', name: NOP, expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'sizes-and-names',
    title:
      'UPLOAD limits: empty or over 2 MiB is EINVAL; names of 127 bytes pass; unknown names ENOENT; ' +
      'names no hypercall can carry are refused by the backend',
    source: "facts §2.1 get_name, §2.2 verify_payload, §1.2 libxc name check; the native addon's argument checks (native/args.cc)",
    payloads: ['nop'],
    steps: [
      {
        op: 'upload',
        name: 'too_big',
        payload: { zeros: 2 * 1024 * 1024 + 1 },
        expect: { result: 'EINVAL', status: 'absent', console: [] },
      },
      { op: 'upload', name: 'empty', payload: { zeros: 0 }, expect: { result: 'EINVAL', status: 'absent', console: [] } },
      // libxenctrl would refuse 128 bytes with EINVAL, but the backend refuses first, as it does an
      // empty name or one holding a NUL (which a C string cannot carry): RangeError, no hypercall.
      { op: 'upload', name: 'n'.repeat(128), payload: 'nop', expect: { result: 'RangeError', status: 'absent', console: [] } },
      { op: 'get', name: 'n'.repeat(128), expect: { result: 'RangeError', status: 'absent' } },
      { op: 'upload', name: '', payload: 'nop', expect: { result: 'RangeError', console: [] } },
      { op: 'upload', name: 'xen_nop\0tail', payload: 'nop', expect: { result: 'RangeError', status: 'absent', console: [] } },
      { op: 'upload', name: 'n'.repeat(127), payload: 'nop', expect: { result: 'ok', status: CHECKED() } },
      { op: 'get', name: 'no_such_payload', expect: { result: 'ENOENT', status: 'absent' } },
      { op: 'apply', name: 'no_such_payload', expect: { result: 'ENOENT', status: 'absent' } },
      { op: 'unload', name: 'n'.repeat(127), expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'timeout',
    title: 'An action whose rendezvous misses the timeout: status rc -EBUSY, no post hook',
    source: 'facts §2.6 timeout (timeout 1 ns: the other CPU cannot check in)',
    payloads: ['prepost_hooks'],
    requires: ['smp'],
    mock: { hooks: prepostHooks(PREPOST) },
    steps: [
      { op: 'upload', name: PREPOST, payload: 'prepost_hooks', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: PREPOST,
        timeoutNs: 1,
        expect: {
          result: 'ok',
          status: CHECKED(EBUSY),
          console: [
            lp(`${PREPOST}: Calling pre-apply hook function`),
            /livepatch: xen_prepost_hooks: Timed out on semaphore in CPU quiesce phase \d+\/\d+$/,
            finished(PREPOST, 'APPLY', EBUSY),
          ],
          consoleAbsent: ['post-apply', 'Applying'],
          hooks: [{ kind: 'preapply', rc: 0 }],
        },
      },
      { op: 'unload', name: PREPOST, expect: { result: 'ok', status: 'absent' } },
    ],
  },

  {
    id: 'busy',
    title: 'One pending action at a time: EBUSY on the same payload, and on another after its pre-hook ran (rc stuck at -EAGAIN)',
    source: 'facts §2.5 is_work_scheduled and schedule_work',
    payloads: ['nop', 'prepost_hooks'],
    requires: ['mock'],
    mock: { identity: { quiesceMs: 50 }, hooks: prepostHooks(PREPOST) },
    steps: [
      { op: 'upload', name: NOP, payload: 'nop', expect: { result: 'ok' } },
      { op: 'upload', name: PREPOST, payload: 'prepost_hooks', expect: { result: 'ok' } },
      {
        op: 'apply',
        name: NOP,
        wait: false,
        expect: {
          result: 'ok',
          status: CHECKED(EAGAIN),
          console: [lp(`${NOP}: Verifying enabled expectations for all functions`)],
          consoleAbsent: ['finished'],
        },
      },
      { op: 'unload', name: NOP, expect: { result: 'EBUSY', status: CHECKED(EAGAIN) } },
      { op: 'apply', name: NOP, wait: false, expect: { result: 'EBUSY', status: CHECKED(EAGAIN), console: [] } },
      {
        op: 'apply',
        name: PREPOST,
        wait: false,
        expect: {
          result: 'EBUSY',
          status: CHECKED(EAGAIN),
          console: [lp(`${PREPOST}: Calling pre-apply hook function`)],
          consoleAbsent: ['aborting'],
          hooks: [{ kind: 'preapply', rc: 0 }],
        },
      },
      {
        op: 'idle',
        ms: 100,
        name: NOP,
        expect: {
          result: 'ok',
          status: APPLIED(),
          statuses: { [PREPOST]: CHECKED(EAGAIN) },
          console: [lp(`${NOP}: Applying 1 functions`), finished(NOP, 'APPLY')],
          hooks: [],
        },
      },
      // Now xen_nop is on top of the stack, and the dependency check fails before any hook: rc still stuck.
      {
        op: 'apply',
        name: PREPOST,
        expect: { result: 'EINVAL', status: CHECKED(EAGAIN), console: [lp(`${PREPOST}: check against ${NOP} build-id failed`)], hooks: [] },
      },
      // Nothing clears the stuck -EAGAIN but an action that gets as far as scheduling.
      {
        op: 'apply',
        name: PREPOST,
        nodeps: true,
        expect: {
          result: 'ok',
          status: APPLIED(),
          hooks: [
            { kind: 'preapply', rc: 0, payloadRc: EAGAIN },
            { kind: 'postapply', payloadRc: 0 },
          ],
        },
      },
    ],
  },

  {
    id: 'list-paging',
    title: 'Raw LIST: nr > 1024 is E2BIG, idx past the end EINVAL; the version moves on upload/unload only',
    source: 'facts §2.4, §1.2 (payload_version)',
    payloads: ['nop', 'replace_world'],
    requires: ['paged-list'],
    steps: [
      { op: 'list-page', idx: 0, nr: 0, expect: { result: 'ok', page: { entries: 0, remaining: 0 } } },
      { op: 'upload', name: NOP, payload: 'nop', expect: { result: 'ok' } },
      { op: 'list-page', idx: 0, nr: 0, expect: { result: 'ok', page: { entries: 0, remaining: 1, versionDelta: 1 } } },
      { op: 'apply', name: NOP, expect: { result: 'ok', status: APPLIED() } },
      { op: 'revert', name: NOP, expect: { result: 'ok', status: CHECKED() } },
      { op: 'list-page', idx: 0, nr: 10, expect: { result: 'ok', page: { entries: 1, remaining: 0, versionDelta: 0 } } },
      { op: 'list-page', idx: 0, nr: 1025, expect: { result: 'E2BIG' } },
      { op: 'list-page', idx: 1, nr: 1, expect: { result: 'EINVAL' } },
      { op: 'upload', name: REPLACE, payload: 'replace_world', expect: { result: 'ok' } },
      { op: 'list-page', idx: 1, nr: 1, expect: { result: 'ok', page: { entries: 1, remaining: 0, versionDelta: 1 } } },
      { op: 'list-page', idx: 0, nr: 1, expect: { result: 'ok', page: { entries: 1, remaining: 1, versionDelta: 0 } } },
      { op: 'unload', name: NOP, expect: { result: 'ok' } },
      { op: 'list-page', idx: 0, nr: 1024, expect: { result: 'ok', page: { entries: 1, remaining: 0, versionDelta: 1 } } },
      { op: 'unload', name: REPLACE, expect: { result: 'ok' } },
    ],
  },
];
