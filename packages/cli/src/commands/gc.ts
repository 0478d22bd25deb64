import type { GcAction } from '@switchyard/core';
import type { CliContext } from '../context.js';

const VERBS: Record<GcAction['kind'], [done: string, would: string]> = {
  'recover-intent': ['finished or rolled back', 'would finish or roll back'],
  'remove-sandbox': ['removed sandbox', 'would remove sandbox'],
  'restore-network': ['restored network', 'would restore network'],
  'remove-link': ['removed link', 'would remove link'],
  'restore-firewall': ['reinstalled the firewall rules of', 'would reinstall the firewall rules of'],
  'program-external': ['programmed external connectivity again for', 'would program external connectivity again for'],
};

/**
 * `gc [--dry-run]`: reconciles the state dir with the kernel (interrupted operations, sandboxes whose
 * namespace or `run` process is gone, networks whose kernel objects vanished, orphaned endpoint links).
 * Exits non-zero when an action failed.
 */
export async function gc(ctx: CliContext, flags: { dryRun?: boolean }): Promise<void> {
  await ctx.requirePrivileges('Garbage-collecting');
  // Opened without the usual recovery on open: gc recovers interrupted operations itself, and reports them.
  const sy = await ctx.open('read');
  const report = await sy.controller.gc({ dryRun: flags.dryRun === true });
  const lines = report.actions.map((a) => {
    const [done, would] = VERBS[a.kind];
    const verb = report.dryRun ? would : a.error !== undefined ? `could not ${would.replace(/^would /, '')}` : done;
    return `${verb} ${a.target}: ${a.reason}${a.error !== undefined ? ` (${a.error})` : ''}\n`;
  });
  const failed = report.actions.filter((a) => a.error !== undefined).length;
  if (failed > 0) ctx.exitCode = 1;
  const summary = report.actions.length === 0 ? 'Nothing to collect: the store matches the kernel.\n' : report.dryRun ? `${report.actions.length} action(s) to take; run \`switchyard gc\` to take them.\n` : '';
  ctx.result(lines.join('') + summary, report);
}
