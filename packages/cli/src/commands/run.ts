import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { RUN_OWNER_LABEL, runOwnerLabel, SwitchyardError, type EndpointRecord, type SandboxRecord } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { usageError } from '../flags.js';
import { NetworkCatalog, type EnsuredNetwork } from '../netd/network-catalog.js';
import { oneLine } from '../output/failure.js';
import { endpointSummary, netnsText } from '../output/views.js';
import { exitStatusOf, processSignals, startInSandbox, type CommandOutcome, type RunningCommand, type SignalSource } from '../run/child-process.js';
import { parseNetList } from '../run/net-list.js';
import { parseExposeFlags, parsePortFlags } from '../port-spec.js';
import { planRun, type RunPlan } from '../run/plan.js';

export interface RunFlags {
  net?: string[];
  port?: string[];
  allowFrom?: string;
  name?: string;
  expose?: string[];
  /** Run in this existing sandbox (a pod, as Kubernetes and rkt have it) instead of an ephemeral one. */
  sandbox?: string;
}

// SIGHUP too: closing the terminal must still tear the sandbox down.
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** Flags that shape an ephemeral sandbox, so `--sandbox` (an existing one) takes none of them. */
const EPHEMERAL_ONLY: ReadonlyArray<readonly [keyof RunFlags, string]> = [
  ['net', '--net'],
  ['port', '-p/--port'],
  ['expose', '--expose'],
  ['name', '--name'],
  ['allowFrom', '--allow-from'],
];

/**
 * `run --net=… -- cmd…`, as `rkt run --net`: an ephemeral sandbox joined to the networks, the command
 * run inside it (its network namespace, and its hosts, resolv.conf and hostname in a private mount and
 * UTS namespace), and everything the run made removed when the command ends or the run is interrupted.
 * `run --sandbox NAME -- cmd…` runs the command in an existing sandbox instead, and leaves it as it is.
 * Any failure of `run` itself exits 125 (main.ts), as `docker run` does.
 */
export async function run(ctx: CliContext, argv: string[], f: RunFlags): Promise<void> {
  if (argv.length === 0) throw usageError('run needs a command to run', 'Put it after `--`: switchyard run --net=default -- ping -c1 172.16.28.1');
  if (f.sandbox !== undefined) return runInSandbox(ctx, argv, f.sandbox, f);
  const list = parseNetList(f.net ?? []);
  const ports = parsePortFlags(f.port ?? [], f.allowFrom);
  const declared = parseExposeFlags(f.expose ?? []);
  if (ports.length > 0 && list.kind !== 'contained') throw usageError(`--port needs a contained sandbox, not --net=${list.kind}`, 'Join at least one network (e.g. --net=default) to publish ports.');
  const name = f.name ?? `run-${randomBytes(3).toString('hex')}`;
  await ctx.requirePrivileges('Running a command in a sandbox');
  const sy = await ctx.open('change');

  const catalog = new NetworkCatalog(sy, ctx.netDir);
  const plan = planRun(
    list,
    (await catalog.netDir()).declarations.map((d) => d.name),
  );
  await assertPlannedNetworksExist(catalog, plan, ctx.netDir);

  // Signals: before the command starts they cancel the setup; after, they go to the command.
  const relay = new SignalRelay(ctx.deps.signals ?? processSignals);

  let sandbox: SandboxRecord | undefined;
  let outcome: CommandOutcome | undefined;
  let failure: { error: unknown } | undefined;
  const endpoints: EndpointRecord[] = [];
  const created: EnsuredNetwork[] = [];
  try {
    // Labelled with this process, so `switchyard gc` removes the sandbox if this process is killed.
    sandbox = await sy.controller.createSandbox({ name, mode: plan.mode, labels: { [RUN_OWNER_LABEL]: runOwnerLabel() }, ...(declared.length > 0 ? { ports: declared } : {}) });
    ctx.progress(`sandbox ${name} created (${plan.mode}, netns ${netnsText(sandbox.netns)})`);
    for (const [i, n] of plan.networks.entries()) {
      if (relay.interrupted) break;
      const ensured = await catalog.ensure(n.name);
      const { network, createdFrom } = ensured;
      if (createdFrom) {
        created.push(ensured);
        ctx.progress(`network ${network.name} created on first use (from ${createdFrom === 'preset' ? 'the rkt preset' : (network.labels['switchyard.netd.file'] ?? 'net.d')})`);
        for (const w of ensured.warnings ?? []) ctx.warn(w);
      }
      const e = await sy.controller.connect(network.name, name, {
        ...(n.ipv4 ? { ipv4: n.ipv4 } : {}),
        ...(n.ipv6 ? { ipv6: n.ipv6 } : {}),
        ...(i === 0 && ports.length > 0 ? { portBindings: ports } : {}),
      });
      endpoints.push(e);
      ctx.progress(`${name}: ${endpointSummary(e)} on ${network.name}${n.reason === 'rkt-default' ? ' (added by the rkt default rule)' : ''}`);
    }
    if (!relay.interrupted) {
      sandbox = await sy.controller.inspectSandbox(name);
      ctx.progress(`running ${argv.join(' ')}`);
      outcome = await runCommand(ctx, argv, sandbox, relay);
    }
  } catch (error) {
    failure = { error };
  }
  // Cleanup runs however the setup or the command ended; signals meanwhile are only recorded.
  let cleanupFailure: { error: unknown } | undefined;
  if (sandbox) {
    try {
      await sy.controller.deleteSandbox(name);
      ctx.progress(`sandbox ${name} removed${outcome ? ` (command exited with status ${exitStatusOf(outcome)})` : ''}`);
    } catch (error) {
      cleanupFailure = { error };
    }
  }
  relay.dispose();
  if (failure) {
    if (cleanupFailure) ctx.warn(oneLine(`removing sandbox ${name} also failed: ${cleanupFailure.error instanceof Error ? cleanupFailure.error.message : String(cleanupFailure.error)}`));
    // A failed run leaves nothing behind, not even the networks it created on first use.
    for (const c of created.reverse()) {
      await catalog.discard(c).catch((e: unknown) => ctx.warn(oneLine(`removing network ${c.network.name} (created for this run) failed too: ${e instanceof Error ? e.message : String(e)}`)));
    }
    throw failure.error;
  }
  if (cleanupFailure) throw cleanupFailure.error;

  const status = outcome ? exitStatusOf(outcome) : 128 + (constants.signals[relay.interrupted ?? 'SIGINT'] ?? 2);
  if (!outcome) ctx.progress(`interrupted by ${relay.interrupted} before the command started; nothing was left behind`);
  ctx.exitCode = status;
  ctx.emitJson({
    run: {
      sandbox: name,
      mode: plan.mode,
      networks: plan.networks.map((n) => {
        const e = endpoints.find((x) => x.networkName === n.name);
        return { name: n.name, reason: n.reason, ifname: e?.ifname ?? null, ipv4: e?.ipv4 ?? null, ipv6: e?.ipv6 ?? null };
      }),
      command: argv,
      exitCode: status,
      signal: outcome?.signal ?? relay.interrupted ?? null,
    },
  });
}

/**
 * `run --sandbox NAME -- cmd…`: the command in an existing sandbox (its network namespace, hosts,
 * resolv.conf and hostname), as a pod's containers share one sandbox. The sandbox and its endpoints
 * stay when the command ends. The state is only read (no recovery, no lock), so any number of these
 * may run in one sandbox at once, and none holds up other commands while it runs.
 */
async function runInSandbox(ctx: CliContext, argv: string[], name: string, f: RunFlags): Promise<void> {
  const conflicting = EPHEMERAL_ONLY.filter(([key]) => f[key] !== undefined).map(([, flag]) => flag);
  if (conflicting.length > 0) {
    throw usageError(
      `--sandbox runs the command in an existing sandbox, so it takes no ${conflicting.join(', ')}`,
      `Connect the sandbox to its networks (and publish its ports) first: switchyard connect NET ${name} [-p …]; then: switchyard run --sandbox ${name} -- CMD…`,
    );
  }
  await ctx.requirePrivileges('Running a command in a sandbox');
  const sy = await ctx.open('read');
  const sandbox = await sy.controller.inspectSandbox(name);
  const relay = new SignalRelay(ctx.deps.signals ?? processSignals);
  let outcome: CommandOutcome;
  try {
    ctx.progress(`running ${argv.join(' ')} in sandbox ${sandbox.name}`);
    outcome = await runCommand(ctx, argv, sandbox, relay);
  } finally {
    relay.dispose();
  }
  const status = exitStatusOf(outcome);
  ctx.exitCode = status;
  ctx.emitJson({
    run: {
      sandbox: sandbox.name,
      mode: sandbox.mode,
      networks: sandbox.endpoints.map((e) => ({ name: e.networkName, ifname: e.ifname, ipv4: e.ipv4 ?? null, ipv6: e.ipv6 ?? null })),
      command: argv,
      exitCode: status,
      signal: outcome.signal,
    },
  });
}

/** Starts the command in the sandbox, passing signals to it while it runs; says why it could not run (126, 127). */
async function runCommand(ctx: CliContext, argv: string[], sandbox: SandboxRecord, relay: SignalRelay): Promise<CommandOutcome> {
  const child = (ctx.deps.startCommand ?? startInSandbox)(argv, sandbox);
  relay.child = child;
  try {
    const outcome = await child.wait();
    if (outcome.notFound !== undefined) ctx.io.stderr.write(`switchyard: ${oneLine(outcome.notFound)}: command not found\n`);
    if (outcome.notExecutable !== undefined) ctx.io.stderr.write(`switchyard: ${oneLine(outcome.notExecutable)}: permission denied (not an executable file)\n`);
    return outcome;
  } finally {
    relay.child = undefined;
  }
}

/** SIGINT/SIGTERM/SIGHUP/SIGQUIT: recorded while no command runs, passed to the command while one does. */
class SignalRelay {
  child: RunningCommand | undefined;
  interrupted: NodeJS.Signals | undefined;
  private readonly handlers: Array<readonly [NodeJS.Signals, () => void]>;

  constructor(private readonly source: SignalSource) {
    this.handlers = FORWARDED.map((sig) => {
      const h = () => {
        // A terminal delivers SIGINT/SIGQUIT to the whole foreground group, the command included: no second copy.
        const fromTerminal = (sig === 'SIGINT' || sig === 'SIGQUIT') && process.stdin.isTTY === true;
        if (this.child) {
          if (!fromTerminal) this.child.kill(sig);
        } else this.interrupted ??= sig;
      };
      source.on(sig, h);
      return [sig, h] as const;
    });
  }

  dispose(): void {
    for (const [sig, h] of this.handlers) this.source.off(sig, h);
  }
}

/** rkt's "networks not found" check, done before anything is created. */
async function assertPlannedNetworksExist(catalog: NetworkCatalog, plan: RunPlan, netDir: string): Promise<void> {
  const missing: string[] = [];
  for (const n of plan.networks) if ((await catalog.sourceOf(n.name)) === undefined) missing.push(n.name);
  if (missing.length > 0) {
    throw new SwitchyardError('SWY_ERR_NETWORK_NOT_FOUND', `Networks not found: ${missing.join(', ')} (not created, not declared in ${netDir}, not a preset)`, {
      hint: `Create them with \`switchyard network create NAME\` or declare them in ${netDir}; see \`switchyard network ls\`.`,
      details: { missing },
    });
  }
}
