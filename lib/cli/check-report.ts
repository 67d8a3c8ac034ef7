import type { Severity } from '../preflight/index.js';
import type { CheckedPayloadJson, CheckJson, DiagnosticJson } from './check-json.js';
import { type Colors, createColors } from './colors.js';

const SEVERITY_COLOR: Record<Severity, (c: Colors, s: string) => string> = {
  fatal: (c, s) => c.bold(c.red(s)),
  error: (c, s) => c.red(s),
  warning: (c, s) => c.yellow(s),
  info: (c, s) => c.dim(s),
};

function where(d: DiagnosticJson): string {
  const parts: string[] = [];
  if (d.section) parts.push(d.offset !== undefined ? `${d.section}+0x${d.offset.toString(16)}` : d.section);
  else if (d.offset !== undefined) parts.push(`@0x${d.offset.toString(16)}`);
  if (d.field) parts.push(d.field);
  if (d.symbol) parts.push(`<${d.symbol}>`);
  return parts.join(' ') || '-';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One payload's findings as aligned columns: severity, errno, check id, code, location, sentence. */
function payloadText(p: CheckedPayloadJson, c: Colors): string[] {
  const lines: string[] = [];
  const id = p.buildId ? `, build-id ${p.buildId}` : '';
  lines.push(c.bold(`${p.file}`) + c.dim(` (name "${p.name}", ${p.size} bytes${id})`));
  const rows = p.diagnostics.map((d) => [d.severity, d.errnoName ?? '-', d.check ?? '-', d.code, where(d)] as const);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length), 0));
  p.diagnostics.forEach((d, k) => {
    const r = rows[k]!;
    const cells = r.map((cell, i) => cell.padEnd(widths[i]!));
    lines.push(
      `  ${SEVERITY_COLOR[d.severity](c, cells[0]!)}  ${cells[1]} ` +
        ` ${c.dim(cells[2]!)}  ${cells[3]}  ${c.cyan(cells[4]!)}  ${d.message}`,
    );
    if (d.console && (d.severity === 'error' || d.severity === 'fatal')) {
      const pad = ' '.repeat(2 + widths[0]! + 2);
      for (const l of d.console.split('\n')) lines.push(c.dim(`${pad}(XEN) ${l}`));
    }
  });
  const n = p.counts;
  const tally = [
    n.fatal ? plural(n.fatal, 'fatal finding') : '',
    n.error ? plural(n.error, 'error') : '',
    n.warning ? plural(n.warning, 'warning') : '',
    n.info ? plural(n.info, 'note') : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (p.fatal) lines.push(c.bold(c.red(`  FATAL: this payload would crash the hypervisor; never upload it. ${tally}.`)));
  if (p.uploadError) {
    const e = p.uploadError;
    const how = e.severity === 'fatal' ? 'crash the hypervisor' : `fail with ${e.errnoName ?? 'an error'}`;
    lines.push(c.red(`  UPLOAD would ${how} (${e.check ?? ''} ${e.code}).${p.fatal ? '' : ` ${tally}.`}`));
  } else if (!p.ok) lines.push(c.red(`  UPLOAD would succeed, but APPLY would fail. ${tally}.`));
  else lines.push(c.green(`  ok: no errors${tally ? ` (${tally})` : ''}.`));
  if (p.signature) lines.push(...signatureText(p.signature, c));
  return lines;
}

function signatureText(s: NonNullable<CheckedPayloadJson['signature']>, c: Colors): string[] {
  const out: string[] = [];
  if (s.policy === 'none')
    out.push(
      c.dim(`  signature: ${s.status === 'present' ? `${s.file} present, not checked` : 'none'} ` + `(no trusted keys: not required)`),
    );
  else if (s.status === 'valid') out.push(c.green(`  signature: valid, key ${s.keyId!.slice(0, 16)} (${s.algorithm})`));
  else out.push(c.red(`  signature: ${s.status}: install, upload, load and sync refuse it (${s.reason})`));
  const e = s.embedded;
  if (e.status === 'recognised')
    out.push(
      c.dim(
        `  .note.Xen.signature: the upstream proposal's v1 RSA/SHA-256 ` +
          `layout, ${e.signatureBytes} bytes (information only: no Xen release verifies it)`,
      ),
    );
  else if (e.status === 'unrecognised')
    out.push(c.dim(`  .note.Xen.signature: not the upstream proposal's layout (${e.reason}); information only`));
  return out;
}

/** The whole `xlp check` report for people. */
export function checkText(doc: CheckJson, colors: boolean): string {
  const c = createColors(colors);
  const ctx = doc.context;
  const what =
    ctx.source === 'offline'
      ? 'offline: the file alone'
      : [
          ctx.source === 'system' ? `running hypervisor${ctx.xenVersion ? ` Xen ${ctx.xenVersion}` : ''}` : 'given context',
          ctx.xenBuildId === null ? 'no build-id' : ctx.xenBuildId ? `build-id ${ctx.xenBuildId}` : '',
          ctx.xenSymbols !== null ? `${ctx.xenSymbols} symbols` : '',
          ctx.loaded ? plural(ctx.loaded.length, 'loaded payload') : '',
        ]
          .filter(Boolean)
          .join(', ');
  const lines = [c.dim(`Checked as Xen ${doc.xenVersion} would load it (${what}).`)];
  for (const note of ctx.notes) lines.push(c.yellow(`note: ${note}`));
  for (const p of doc.payloads) lines.push('', ...payloadText(p, c));
  if (doc.payloads.length > 1) {
    const bad = doc.payloads.filter((p) => !p.ok).length;
    lines.push('', `${plural(doc.payloads.length, 'payload')} checked: ${doc.payloads.length - bad} ok, ${bad} with errors.`);
  }
  return lines.join('\n');
}
