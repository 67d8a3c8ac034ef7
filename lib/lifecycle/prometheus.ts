/**
 * The host's lifecycle state in the Prometheus text format, for node_exporter's textfile
 * collector (`xlp status --format prometheus > /var/lib/prometheus/node-exporter/xen_livepatch.prom`,
 * written atomically by a timer): the way a fleet's monitoring usually learns such facts.
 */

/** What the metrics are made of. */
export interface HostMetricsInput {
  readonly xenVersion: string;
  readonly xenBuildId: string | null;
  readonly applied: readonly string[];
  readonly installed: readonly string[];
  readonly drift: boolean;
  readonly lastSync: { readonly at: string; readonly result: string; readonly changed: boolean } | null;
  readonly bootGuardTripped: boolean;
  readonly bootUnitEnabled: boolean;
}

/** A label value as the format quotes it: backslash, double quote and newline escaped. */
export function labelValue(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function hostMetrics(m: HostMetricsInput): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, samples: readonly [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}=${labelValue(v)}`);
      lines.push(`${name}${l.length ? `{${l.join(',')}}` : ''} ${value}`);
    }
  };
  const installed = new Set(m.installed);
  metric('xen_livepatch_xen_info', 'The running hypervisor: its version and build-id.', [
    [{ version: m.xenVersion, build_id: m.xenBuildId ?? '' }, 1],
  ]);
  metric(
    'xen_livepatch_applied',
    'A live patch applied to the running hypervisor, with its position from the bottom of the stack and whether it is installed.',
    m.applied.map((name, i) => [{ name, position: String(i + 1), installed: String(installed.has(name)) }, 1]),
  );
  metric(
    'xen_livepatch_installed',
    'A live patch installed for the running Xen build (xlp install), in stack order.',
    m.installed.map((name, i) => [{ name, position: String(i + 1) }, 1]),
  );
  metric('xen_livepatch_drift', '1 when the applied stack differs from the installed set of the running build.', [[{}, m.drift ? 1 : 0]]);
  if (m.lastSync) {
    metric('xen_livepatch_last_sync_timestamp_seconds', 'When the last xlp sync ended, in seconds since the epoch.', [
      [{}, Math.floor(Date.parse(m.lastSync.at) / 1000)],
    ]);
    metric('xen_livepatch_last_sync_success', '1 when the last xlp sync converged (0: it failed or was skipped).', [
      [{}, m.lastSync.result === 'ok' ? 1 : 0],
    ]);
    metric('xen_livepatch_last_sync_changed', '1 when the last xlp sync changed the applied stack.', [[{}, m.lastSync.changed ? 1 : 0]]);
  }
  metric('xen_livepatch_boot_guard_tripped', '1 when a boot sync never finished: the next ones do nothing until `xlp boot clear-guard`.', [
    [{}, m.bootGuardTripped ? 1 : 0],
  ]);
  metric('xen_livepatch_boot_unit_enabled', '1 when the boot sync unit is enabled.', [[{}, m.bootUnitEnabled ? 1 : 0]]);
  return `${lines.join('\n')}\n`;
}
