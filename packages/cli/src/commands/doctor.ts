import { SwitchyardError } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { realProbes } from '../doctor/probes.js';
import { gatherReport, type DoctorReport } from '../doctor/report.js';
import { EXIT_CODES, oneLine } from '../output/failure.js';
import { formatTable } from '../output/table.js';

const yesNo = (v: boolean | null) => (v === null ? '? unknown' : v ? '✓ yes' : '✗ no');

/** `doctor`: what this machine supports, what is missing and how to install it. */
export async function doctor(ctx: CliContext): Promise<void> {
  const sy = await ctx.open('read');
  const probes = { ...realProbes, ...ctx.deps.doctor };
  const report = await gatherReport(sy, probes, { path: ctx.io.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', stateDir: ctx.stateDir, netDir: ctx.netDir }, (l) => ctx.progress(l));
  ctx.result(render(report), { doctor: report });
  if (!report.ok && ctx.json) {
    // One JSON document: the report carries ok/problems; the status says Unavailable.
    ctx.exitCode = EXIT_CODES.Unavailable;
  } else if (!report.ok) {
    // The report is printed; the error line says what blocks Switchyard, and sets the exit status.
    throw new SwitchyardError(blockingCode(report), `Switchyard cannot work here yet: ${report.problems.join('; ')}`, {
      hint: 'Fix the problems listed above (each says what to install), then run `switchyard doctor` again.',
      details: { problems: report.problems },
    });
  }
}

/** The code of the first kind of problem found: a missing tool, a missing kernel feature, or the state directory. */
function blockingCode(r: DoctorReport): 'SWY_ERR_TOOL_MISSING' | 'SWY_ERR_KERNEL_FEATURE_MISSING' | 'SWY_ERR_STORE_IO' {
  if (r.tools.some((t) => t.essential && !t.path)) return 'SWY_ERR_TOOL_MISSING';
  if (r.kernel.some((k) => (k.feature === 'bridge' || k.feature === 'veth') && !k.supported)) return 'SWY_ERR_KERNEL_FEATURE_MISSING';
  return 'SWY_ERR_STORE_IO';
}

function render(r: DoctorReport): string {
  const out: string[] = ['Switchyard doctor', ''];
  out.push('Kernel features (probed in throwaway namespaces; the host namespace is not touched)');
  out.push(
    formatTable(
      ['FEATURE', 'SUPPORTED', 'USED BY', 'NOTE'],
      r.kernel.map((k) => [k.feature, yesNo(k.supported), k.usedBy, k.note ?? '']),
      '  ',
    ),
  );
  out.push('Drivers');
  out.push(
    formatTable(
      ['KIND', 'TYPE', 'VERSION', 'ORIGIN', 'KERNEL SUPPORT'],
      r.plugins.map((p) => {
        const k = p.kind === 'driver' ? r.kernel.find((x) => x.feature === p.type) : undefined;
        return [p.kind, p.type, p.version, p.origin, p.kind === 'ipam' ? 'n/a' : k ? yesNo(k.supported) : '?'];
      }),
      '  ',
    ),
  );
  const ip = r.installedPlugins;
  out.push(`Plugins installed in ${ip.dir} (\`switchyard plugin install|ls|rm\`)`);
  if (ip.plugins.length === 0) out.push('  none', '');
  else {
    out.push(
      formatTable(
        ['PACKAGE', 'VERSION', 'KIND', 'TYPE', 'API', 'MANIFEST'],
        ip.plugins.map((p) => [
          p.name,
          p.version,
          p.kind ?? '?',
          p.type ?? '?',
          p.apiVersion === undefined ? '?' : String(p.apiVersion),
          p.error ? `✗ ${p.error.code}: ${oneLine(p.error.message)}` : `✓ ${p.manifest?.version ?? '?'}${p.manifest?.description ? ` ${p.manifest.description}` : ''}`,
        ]),
        '  ',
      ),
    );
  }
  out.push('Tools');
  out.push(
    formatTable(
      ['TOOL', 'FOUND', 'NEEDED FOR', 'INSTALL'],
      r.tools.map((t) => [t.tool, t.path ? `✓ ${t.path}` : '✗ missing', t.neededFor, t.path ? '' : t.install]),
      '  ',
    ),
  );
  const cni = r.cniPlugins;
  out.push(`  CNI plugins in ${cni.dir}: ${cni.plugins.length > 0 ? `✓ ${cni.plugins.join(', ')}` : `✗ none (interop tests need them: ${cni.install})`}`, '');
  const fw = r.firewall;
  const on = (v: string | null) => (v === null ? 'unknown' : v === '1' ? 'on' : 'off');
  out.push('Firewall');
  out.push(fw.backend === 'none' ? '  ✗ backend: none (install nftables): no masquerade, no published ports, no isolation rules' : `  ✓ backend: ${fw.backend} (table inet switchyard; \`switchyard firewall show\`)`);
  out.push(`  forwarding: IPv4 ${on(fw.ipv4Forwarding)}, IPv6 ${on(fw.ipv6Forwarding)} (turned on when a masquerading network or a published port needs it, and left on)`, '');
  const dns = r.dns;
  out.push('DNS');
  if (dns.state === 'running') {
    out.push(`  ✓ dns responder running (pid ${dns.pid ?? '?'}), upstream ${dns.upstreams.length > 0 ? dns.upstreams.join(', ') : 'none (other names fail)'}`);
    for (const n of dns.networks) out.push(`      ${n.name}: ${n.listening.join(', ')}`);
  } else out.push('  dns responder stopped (it runs while a network with DNS has endpoints; the next operation starts it)');
  out.push('');
  const p = r.privileges;
  out.push('Privileges');
  out.push(`  uid ${p.uid}, CAP_NET_ADMIN ${p.netAdmin ? 'yes' : 'no'}, CAP_SYS_ADMIN ${p.sysAdmin ? 'yes' : 'no'}`);
  out.push(p.mayChangeKernel ? '  ✓ may change the kernel (create networks, sandboxes, run, demo)' : '  ✗ may not change the kernel: run as root or with CAP_NET_ADMIN, or try privately with `unshare -rn`', '');
  const netd = r.netd;
  out.push(`Networks declared in ${netd.dir} (conf and conflist files, created on first use)`);
  if (netd.error) out.push(`  ✗ ${oneLine(netd.error)}`);
  else if (netd.networks.length === 0 && netd.broken.length === 0) out.push('  none');
  for (const n of netd.networks) {
    out.push(n.error ? `  ✗ ${n.name}: ${oneLine(n.error)}` : `  ✓ ${n.name} (${n.driver ?? '?'}, ${n.file})`);
    for (const w of n.warnings) out.push(`      note: ${oneLine(w)}`);
  }
  for (const i of netd.ignored) out.push(`  - ${i.file} declares ${i.name} again: ignored (${i.keptFile} comes first)`);
  for (const b of netd.broken) out.push(`  ✗ ${oneLine(b.error)}`);
  out.push('');
  out.push('State');
  const s = r.stateDir;
  out.push(`  ${s.writable ? '✓' : '✗'} ${s.path}: ${s.exists ? (s.writable ? 'writable' : 'not writable') : s.writable ? 'absent, will be created on first change' : 'absent and cannot be created'}`, '');
  out.push(r.ok ? '✓ ready: the built-in drivers can work on this machine' : `✗ ${r.problems.length} problem(s): ${r.problems.join('; ')}`);
  return out.join('\n') + '\n';
}
