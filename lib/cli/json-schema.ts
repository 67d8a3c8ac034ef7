/**
 * The JSON `xlp --json` prints, per command, as JSON Schema (draft 2020-12 subset) objects. This is
 * the stable contract documented in docs/cli.md: fields may be added, none removed or changed in
 * meaning without a major version. The tests validate every command's output against these with
 * `validateJson` (a small validator for the keywords used here). Not imported by the CLI itself.
 */
import { ERROR_KINDS, type ErrorKind, WORKFLOW_ERROR_KINDS } from './error-kinds.js';

export type JsonSchema = {
  readonly type?: JsonType | readonly JsonType[];
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly oneOf?: readonly JsonSchema[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly description?: string;
};
type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

const state: JsonSchema = { enum: ['CHECKED', 'APPLIED'] };
/** 0, or a negative errno as Xen reports it (hooks may return any negative number). */
const rc: JsonSchema = { type: 'integer', maximum: 0 };
const strings: JsonSchema = { type: 'array', items: { type: 'string' } };
const hookKind: JsonSchema = { enum: ['load', 'unload', 'preapply', 'postapply', 'prerevert', 'postrevert', 'apply', 'revert'] };
const buildId: JsonSchema = { type: ['string', 'null'] };
/** Where a payload's build-id is known from (the stack view's `PayloadEvidence`). */
const evidence: JsonSchema = { enum: ['registry', 'dump', 'unknown'] };

const obj = (
  properties: Record<string, JsonSchema>,
  required: readonly string[] = Object.keys(properties),
  additional = false,
): JsonSchema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: additional,
});

/** One action's result: apply, revert, unload, each step of replace and recover. */
export const ACTION_SCHEMA = obj({
  name: { type: 'string' },
  action: { enum: ['APPLY', 'REVERT', 'REPLACE', 'UNLOAD'] },
  outcome: { enum: ['done', 'nothing-to-do'] },
  /** null after UNLOAD (the payload is gone). */
  state: { type: ['string', 'null'], enum: ['CHECKED', 'APPLIED', null] },
  rc: { type: ['integer', 'null'], maximum: 0 },
  hooks: { type: 'array', items: obj({ hook: hookKind, rc: { type: 'integer' } }, ['hook']) },
  console: strings,
  elapsedMs: { type: 'number', minimum: 0 },
});

const diagnostic = obj(
  {
    code: { type: 'string' },
    severity: { enum: ['fatal', 'error', 'warning', 'info'] },
    errno: { type: ['integer', 'null'] },
    message: { type: 'string' },
    section: { type: 'string' },
    symbol: { type: 'string' },
  },
  ['code', 'severity', 'errno', 'message'],
);

const plannedHook = obj({
  payload: { type: 'string' },
  hook: hookKind,
  count: { type: 'integer', minimum: 1 },
  vetoing: { type: 'boolean' },
});

const planSteps: JsonSchema = {
  type: 'array',
  items: obj(
    {
      action: { enum: ['UPLOAD', 'APPLY', 'REVERT', 'REPLACE', 'UNLOAD', 'RELOAD'] },
      payload: { type: 'string' },
      hooks: { oneOf: [{ type: 'null' }, { type: 'array', items: plannedHook }] },
      note: { type: 'string' },
    },
    ['action', 'payload', 'hooks'],
  ),
};

export const PLAN_SCHEMA = obj(
  {
    command: { type: 'string' },
    /** With `pending`: the steps if the pending action completes. */
    steps: planSteps,
    warnings: strings,
    refused: obj({ code: { type: 'string' }, category: { type: 'string' }, message: { type: 'string' } }),
    /** `recover --dry-run` only: an action still pending in the hypervisor, waited for first. */
    pending: obj({
      action: { enum: ['APPLY', 'REVERT', 'REPLACE'] },
      payload: { type: 'string' },
      issuedAt: { type: 'string' },
      pid: { type: 'integer' },
    }),
    /** With `pending`: the steps if it fails. */
    ifPendingFails: planSteps,
  },
  ['command', 'steps', 'warnings'],
);

const journal: JsonSchema = {
  oneOf: [
    { type: 'null' },
    obj(
      {
        version: { enum: [1] },
        workflow: { enum: ['load', 'replace-sequential', 'sync'] },
        command: { type: 'string' },
        startedAt: { type: 'string' },
        pid: { type: 'integer' },
        target: { type: 'string' },
        originalStack: strings,
        originalNodeps: strings,
        phase: { enum: ['forward', 'rollback'] },
        steps: {
          type: 'array',
          items: obj(
            {
              action: { enum: ['UPLOAD', 'APPLY', 'REVERT', 'UNLOAD', 'REPLACE'] },
              payload: { type: 'string' },
              state: { enum: ['pending', 'started', 'done'] },
              nodeps: { type: 'boolean' },
            },
            ['action', 'payload', 'state'],
          ),
        },
        failure: obj({ code: { type: 'string' }, message: { type: 'string' } }),
        uploadedByWorkflow: { type: 'boolean' },
        endedAt: { type: 'string' },
        /** `sync`: where the installed copies to upload are, and the original stack's bytes. */
        detail: { type: 'object' },
      },
      ['version', 'workflow', 'command', 'startedAt', 'pid', 'target', 'originalStack', 'phase', 'steps', 'uploadedByWorkflow'],
    ),
  ],
};

/** The schema of each field an error kind adds (see ERROR_KINDS). */
const ERROR_FIELD: Readonly<Record<string, JsonSchema>> = {
  file: { type: 'string' },
  reason: { type: 'string' },
  problem: { type: 'string' },
  path: { type: 'string' },
  hook: { enum: ['preapply', 'prerevert'] },
  rc: { type: 'integer' },
  dependsOn: { type: ['string', 'null'] },
  against: { type: 'string' },
  againstBuildId: { type: ['string', 'null'] },
  top: { type: ['string', 'null'] },
  where: { enum: ['hypervisor', 'wait'] },
  fatal: { type: 'boolean' },
  diagnostics: { type: 'array', items: { type: 'object' } },
  offenders: {
    type: 'array',
    items: obj({ payload: { type: 'string' }, hooks: { oneOf: [{ type: 'null' }, { type: 'array', items: hookKind }] } }),
  },
  beforeHypercall: { type: 'boolean' },
  action: { enum: ['APPLY', 'REVERT', 'REPLACE', 'UNLOAD'] },
  holder: {
    oneOf: [
      { type: 'null' },
      obj({ pid: { type: 'integer' }, hostname: { type: 'string' }, purpose: { type: 'string' }, acquiredAt: { type: 'string' } }),
    ],
  },
  lock: { type: 'string' },
  waitedMs: { type: 'number', minimum: 0 },
  command: { type: 'string' },
  journal: { type: 'string' },
  call: { type: 'string' },
  payload: { type: 'string' },
  payloads: strings,
  dependants: strings,
  xenBuildId: { type: 'string' },
  signatureFile: { type: 'string' },
  since: { type: 'string' },
};

const signature: JsonSchema = {
  oneOf: [{ type: 'null' }, obj({ keyId: { type: 'string' }, algorithm: { enum: ['rsa-sha256', 'ecdsa-p256-sha256', 'ed25519'] } })],
};
const drift = obj({ installedNotApplied: strings, appliedNotInstalled: strings, orderDiffers: { type: 'boolean' } });
const syncPlan = obj({
  mode: { enum: ['nothing-to-do', 'sequential', 'replace'] },
  commonBase: strings,
  steps: {
    type: 'array',
    items: obj(
      {
        action: { enum: ['REVERT', 'UNLOAD', 'UPLOAD', 'APPLY', 'REPLACE'] },
        name: { type: 'string' },
        reason: {
          enum: [
            'above-common-base',
            'not-installed',
            'other-version',
            'build-id-taken',
            'not-safe-to-reapply',
            'not-uploaded-by-xlp',
            'missing',
            'installed',
            'replace',
            'replaced',
          ],
        },
        why: { type: 'string' },
        replaces: strings,
      },
      ['action', 'name', 'reason', 'why'],
    ),
  },
  untouched: { type: 'array', items: obj({ name: { type: 'string' }, state, why: { type: 'string' } }) },
  warnings: strings,
});
const UPLOAD_STEP = obj({
  name: { type: 'string' },
  action: { enum: ['UPLOAD'] },
  outcome: { enum: ['done'] },
  bytes: { type: 'integer', minimum: 1 },
});
const bootUnit = obj({
  enabled: { type: 'boolean' },
  installed: { type: 'boolean' },
  path: { type: 'string' },
  execStart: { type: ['string', 'null'] },
  stale: { type: 'boolean' },
});
const bootGuard = obj({ tripped: { type: 'boolean' }, since: { type: 'string' } }, ['tripped']);

/** One alternative per error kind: its code, exit codes and every field it documents, required. */
const errorAlternatives: JsonSchema[] = Object.entries(ERROR_KINDS).map(([kind, k]) => {
  const workflow = WORKFLOW_ERROR_KINDS.includes(kind as ErrorKind);
  const codes: readonly string[] = k.code;
  const code: JsonSchema = codes.includes('errno') ? { type: 'string' } : { enum: codes };
  return obj(
    {
      /** An errno name (EBUSY, EINVAL, ...) or one of the codes of the table in docs/cli.md. */
      code,
      errno: { type: 'integer', minimum: 1 },
      message: { type: 'string' },
      kind: { enum: [kind] },
      exitCode: { enum: k.exit },
      payload: { type: 'string' },
      details: strings,
      console: strings,
      notes: strings,
      ...Object.fromEntries(k.fields.map((f) => [f, ERROR_FIELD[f]!])),
    },
    ['code', 'message', 'kind', 'exitCode', ...(workflow ? ['console', 'details'] : []), ...k.fields],
    true,
  );
});

/** `{"error": {...}}`: every failure of every command, on stdout, with the exit code. */
export const ERROR_SCHEMA = obj({ error: { oneOf: errorAlternatives } });

export const CLI_SCHEMAS = {
  list: obj({ payloads: { type: 'array', items: obj({ name: { type: 'string' }, state, rc, metadata: strings }) } }),
  status: obj({ name: { type: 'string' }, state, rc }),
  upload: obj({
    name: { type: 'string' },
    outcome: { enum: ['done'] },
    bytes: { type: 'integer', minimum: 1 },
    state: { enum: ['CHECKED'] },
    rc: { enum: [0] },
    warnings: { type: 'array', items: diagnostic },
  }),
  load: obj({
    name: { type: 'string' },
    upload: obj({ bytes: { type: 'integer', minimum: 1 }, warnings: { type: 'array', items: diagnostic } }),
    apply: ACTION_SCHEMA,
  }),
  apply: ACTION_SCHEMA,
  revert: ACTION_SCHEMA,
  unload: ACTION_SCHEMA,
  replace: obj({ name: { type: 'string' }, sequential: { type: 'boolean' }, steps: { type: 'array', items: ACTION_SCHEMA } }),
  stack: obj({
    xenBuildId: buildId,
    orderCertain: { type: 'boolean' },
    certainty: obj({
      order: { enum: ['certain', 'recorded', 'uncertain'] },
      dump: { enum: ['not-needed', 'complete', 'truncated', 'lock-held', 'unavailable'] },
      notes: strings,
    }),
    applied: {
      type: 'array',
      items: obj({
        position: { type: 'integer', minimum: 1 },
        name: { type: 'string' },
        buildId,
        dependsOn: buildId,
        hooks: { oneOf: [{ type: 'null' }, { type: 'array', items: hookKind }] },
        vetoingHooks: { oneOf: [{ type: 'null' }, { type: 'array', items: hookKind }] },
        chained: { type: 'boolean' },
        placement: { enum: ['chain', 'recorded', 'unknown'] },
        evidence,
      }),
    },
    loaded: {
      type: 'array',
      items: obj({ name: { type: 'string' }, state, buildId, dependsOn: buildId, dependsOnXen: buildId, metadata: strings, evidence }),
    },
  }),
  log: obj({ lines: strings }),
  info: obj(
    {
      backend: { enum: ['native', 'mock'] },
      xen: obj({ major: { type: 'integer' }, minor: { type: 'integer' }, extra: { type: 'string' }, version: { type: 'string' }, buildId }),
      stateDir: { type: 'string' },
      mockState: { type: 'string' },
    },
    ['backend', 'xen', 'stateDir'],
  ),
  recover: obj({ mode: { enum: ['rollback', 'complete', 'none'] }, journal, steps: { type: 'array', items: ACTION_SCHEMA } }),
  /** Any mutating command with --dry-run. */
  plan: obj({ plan: PLAN_SCHEMA }),
  /** `recover --dry-run`. */
  recoverPlan: obj({ plan: PLAN_SCHEMA, journal }),
  install: obj(
    {
      xenBuildId: buildId,
      dryRun: { enum: [true] },
      installed: {
        type: 'array',
        items: obj({
          name: { type: 'string' },
          file: { type: 'string' },
          xenBuildId: { type: 'string' },
          sha256: { type: 'string' },
          signature,
          outcome: { enum: ['installed', 'replaced', 'unchanged'] },
        }),
      },
      changed: { type: 'boolean' },
    },
    ['xenBuildId', 'installed', 'changed'],
  ),
  uninstall: obj({ name: { type: 'string' }, xenBuildId: buildId, changed: { type: 'boolean' }, removed: strings }),
  listInstalled: obj({
    builds: {
      type: 'array',
      items: obj({
        xenBuildId: { type: 'string' },
        running: { type: 'boolean' },
        patches: {
          type: 'array',
          items: obj({
            name: { type: 'string' },
            buildId,
            depends: buildId,
            sha256: { type: 'string' },
            installedAt: { type: 'string' },
            signature,
          }),
        },
      }),
    },
  }),
  sync: obj(
    {
      xenBuildId: { type: 'string' },
      xenVersion: { type: 'string' },
      changed: { type: 'boolean' },
      dryRun: { enum: [true] },
      before: strings,
      after: strings,
      plan: syncPlan,
      /** Absent with --dry-run. */
      steps: { type: 'array', items: { oneOf: [ACTION_SCHEMA, UPLOAD_STEP] } },
      drift,
    },
    ['xenBuildId', 'xenVersion', 'changed', 'before', 'after', 'plan', 'drift'],
  ),
  /** `sync --boot` stopped by a kill switch. */
  syncSkipped: obj({ changed: { enum: [false] }, skipped: obj({ by: { enum: ['file', 'cmdline'] }, reason: { type: 'string' } }) }),
  hostStatus: obj({
    xen: obj({ version: { type: 'string' }, buildId }),
    stack: obj({ applied: strings, certainty: { enum: ['certain', 'recorded', 'uncertain'] } }),
    installed: {
      type: 'array',
      items: obj({ name: { type: 'string' }, buildId, sha256: { type: 'string' }, installedAt: { type: 'string' }, signature }),
    },
    drift,
    lastSync: {
      oneOf: [
        { type: 'null' },
        obj(
          {
            at: { type: 'string' },
            result: { enum: ['ok', 'failed', 'skipped'] },
            changed: { type: 'boolean' },
            boot: { type: 'boolean' },
            reason: { type: 'string' },
            xenBuildId: buildId,
          },
          ['at', 'result', 'changed', 'boot', 'xenBuildId'],
        ),
      ],
    },
    bootGuard,
    bootUnit: obj({ enabled: { type: 'boolean' }, path: { type: 'string' } }),
    journal: { oneOf: [{ type: 'null' }, obj({ workflow: { type: 'string' }, command: { type: 'string' } })] },
  }),
  /** `boot enable` and `boot disable`. */
  bootUnit: obj({ bootUnit, changed: { type: 'boolean' } }),
  bootStatus: obj({ bootUnit, bootGuard }),
  /** `boot clear-guard`. */
  clearGuard: obj({ changed: { type: 'boolean' } }),
  error: ERROR_SCHEMA,
} as const satisfies Record<string, JsonSchema>;

export type CliSchemaName = keyof typeof CLI_SCHEMAS;

function typeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

/** Validates `value` against `schema`; returns the problems found (empty when it conforms). */
export function validateJson(schema: JsonSchema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type;
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) errors.push(`${path}: expected ${types.join('|')}, got ${t}`);
  }
  if (schema.enum && !schema.enum.some((e) => e === value))
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: ${value} < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: ${value} > ${schema.maximum}`);
  }
  if (schema.oneOf) {
    const results = schema.oneOf.map((s) => validateJson(s, value, path));
    const matching = results.filter((r) => r.length === 0).length;
    if (matching !== 1) errors.push(`${path}: matches ${matching} of the oneOf alternatives`);
    // None: what the closest alternative found wrong says the most; one whose single-valued
    // property (a discriminator such as `kind`) the value has is closer than any other.
    if (matching === 0) {
      const distance = (s: JsonSchema, r: string[]): number => {
        const o = typeOf(value) === 'object' ? (value as Record<string, unknown>) : {};
        const tagMismatch = Object.entries(s.properties ?? {}).some(
          ([k, p]) => p.enum?.length === 1 && typeof p.enum[0] === 'string' && k in o && o[k] !== p.enum[0],
        );
        return r.length + (tagMismatch ? 1000 : 0);
      };
      let best = 0;
      results.forEach((r, i) => {
        if (distance(schema.oneOf![i]!, r) < distance(schema.oneOf![best]!, results[best]!)) best = i;
      });
      errors.push(...results[best]!);
    }
  }
  if (schema.items && Array.isArray(value)) value.forEach((v, i) => errors.push(...validateJson(schema.items!, v, `${path}[${i}]`)));
  if (typeOf(value) === 'object' && (schema.properties || schema.required || schema.additionalProperties !== undefined)) {
    const o = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in o)) errors.push(`${path}: missing ${r}`);
    for (const [k, v] of Object.entries(o)) {
      const p = schema.properties?.[k];
      if (p) errors.push(...validateJson(p, v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property ${k}`);
      else if (typeof schema.additionalProperties === 'object')
        errors.push(...validateJson(schema.additionalProperties, v, `${path}.${k}`));
    }
  }
  return errors;
}
