import type { CliContext } from '../context.js';
import { formatTable } from '../output/table.js';
import { PORT_HEADERS, portRows } from '../output/views.js';

/** `firewall show`: the backend, whether the installed rules match the store, and the rules as the backend lists them. */
export async function firewallShow(ctx: CliContext): Promise<void> {
  await ctx.requirePrivileges('Reading the firewall');
  const sy = await ctx.open('read');
  const check = await sy.controller.checkFirewall();
  const rules = await sy.controller.showFirewall();
  const status = check.problems.length === 0 ? 'in step with the store' : `out of step: ${check.problems.join('; ')} (\`switchyard firewall reload\` repairs it)`;
  ctx.result(`backend: ${sy.controller.firewallName}\nstatus: ${status}\n\n${rules}`, { backend: sy.controller.firewallName, problems: check.problems, rules });
}

/** `firewall reload`: replaces Switchyard's rules with the intended state from the store, in one transaction. */
export async function firewallReload(ctx: CliContext): Promise<void> {
  await ctx.requirePrivileges('Reloading the firewall');
  const sy = await ctx.open('change');
  const done = await sy.controller.reloadFirewall();
  ctx.result(`reloaded ${sy.controller.firewallName} rules: ${done.networks} network(s), ${done.endpoints} endpoint(s) with rules\n`, { backend: sy.controller.firewallName, ...done });
}

/** `port ls [SANDBOX]`: published ports, as `docker port` lists them. */
export async function portList(ctx: CliContext, sandboxName: string | undefined): Promise<void> {
  const sy = await ctx.open('read');
  const sandboxes = sandboxName === undefined ? await sy.controller.listSandboxes() : [await sy.controller.inspectSandbox(sandboxName)];
  const rows = portRows(sandboxes);
  const ports = sandboxes.flatMap((s) => s.endpoints.flatMap((e) => e.portBindings.map((b) => ({ sandbox: s.name, network: e.networkName, ...b }))));
  ctx.result(rows.length > 0 ? formatTable([...PORT_HEADERS], rows) : 'No published ports.\n', { ports });
}
