import type { CliContext } from '../context.js';

/**
 * `dns [--upstream ADDR]... [--port N]`: runs the state dir's DNS responder in the foreground (under
 * systemd, say) until it has no network left to serve or gets SIGTERM. Connects start one on demand when
 * none runs; a responder already running for the state dir makes this one exit at once.
 */
export async function dns(ctx: CliContext, flags: { upstream?: string[]; port?: string }): Promise<void> {
  await ctx.requirePrivileges('Running the DNS responder');
  const { runResponder } = await import('@switchyard/dns');
  const upstreams = flags.upstream ?? (ctx.io.env.SWITCHYARD_DNS_UPSTREAM ?? '').split(',').filter((u) => u.trim() !== '');
  const argv = ['--state-dir', ctx.stateDir, ...upstreams.flatMap((u) => ['--upstream', u.trim()]), ...(flags.port !== undefined ? ['--port', flags.port] : [])];
  ctx.exitCode = await runResponder(argv, { env: ctx.io.env });
}
