import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { askEcho, startEchoServer, SwitchyardError, type NetnsRef, type Switchyard } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { enterLab, LAB_ENV, reexecInLab, setUpOutside } from '../demo/lab.js';
import { pingFromSandbox, resolveFromSandbox } from '../demo/ping.js';
import { median, runDemoScenario, type DemoOutcome } from '../demo/scenario.js';
import { realProbes } from '../doctor/probes.js';
import { EXIT_CODES } from '../output/failure.js';
import { openSwitchyard } from '../open-switchyard.js';

const TOOLS = [
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['ip', 'iproute2'],
  ['ping', 'iputils-ping'],
  ['mount', 'mount'],
] as const;

/**
 * `demo`: builds a throwaway lab inside its own private network and mount namespace (it re-executes
 * itself under unshare), shows networks, sandboxes and traffic, tears it all down, and reports timings.
 */
export async function demo(ctx: CliContext): Promise<void> {
  const marker = ctx.io.env[LAB_ENV];
  if (!ctx.deps.demoInPlace && !marker) {
    await ctx.requirePrivileges('The demo');
    const which = { ...realProbes, ...ctx.deps.doctor }.which;
    const missing = TOOLS.filter(([tool]) => !which(tool, ctx.io.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'));
    if (missing.length > 0) {
      throw new SwitchyardError('SWY_ERR_TOOL_MISSING', `The demo needs ${missing.map(([t]) => t).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`, {
        hint: `Install: apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')}.`,
      });
    }
    ctx.progress('entering a private network + mount namespace for the lab (unshare --net --mount); the host network is not touched');
    ctx.exitCode = await reexecInLab(ctx.json ? ['--json'] : [], ctx.io.env);
    return;
  }

  let stateDir: string;
  let ipForward = '0';
  let dispose: () => Promise<void>;
  if (marker && !ctx.deps.demoInPlace) {
    const lab = await enterLab(marker);
    ({ stateDir, ipForward, dispose } = lab);
    ctx.progress(`lab ready: fresh network and mount namespaces, tmpfs on /run/netns, state in ${stateDir}`);
  } else {
    stateDir = await mkdtemp(join(tmpdir(), 'switchyard-demo-'));
    dispose = () => rm(stateDir, { recursive: true, force: true });
  }

  let outcome: DemoOutcome;
  let sy: Switchyard | undefined;
  try {
    sy = await openSwitchyard(ctx, 'change', stateDir);
    ctx.say(`Switchyard demo: a throwaway lab in a private network namespace\n  state dir ${stateDir} (deleted at the end); ip_forward ${ipForward} in the lab`);
    // The outside world needs the real lab (a namespace of its own) and a firewall to publish through.
    const outside = marker && !ctx.deps.demoInPlace && sy.controller.firewallName !== 'none' ? await setUpOutside() : undefined;
    const echo = outside ? { serve: startEchoServer, ask: (ns: NetnsRef, host: string, port: number) => askEcho(ns, host, port) } : undefined;
    outcome = await runDemoScenario({
      sy,
      ping: ctx.deps.ping ?? pingFromSandbox,
      ...(ctx.deps.ping ? {} : { resolve: resolveFromSandbox }),
      now: () => ctx.now(),
      print: (t) => ctx.say(t.replace(/\n$/, '')),
      ipForward,
      ...(outside && echo ? { outside, echo } : {}),
    });
    await sy.close();
    sy = undefined;
    // Act 2, in the real lab only: three hosts on etcd.
    if (marker && !ctx.deps.demoInPlace) {
      const { runMultiHostAct } = await import('../demo/multi-host.js');
      const which = { ...realProbes, ...ctx.deps.doctor }.which;
      const act = await runMultiHostAct({ print: (t) => ctx.say(t.replace(/\n$/, '')), now: () => ctx.now(), which: (tool) => which(tool, ctx.io.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin') !== undefined });
      if (act.checks.length > 0) {
        outcome.checks.push(...act.checks);
        outcome.ok = outcome.checks.every((c) => c.ok);
        if (act.connectMs.length > 0) outcome.timings['cross-host connect (CLI, etcd)'] = { medianMs: median(act.connectMs), samples: act.connectMs.length };
        const failedAct = act.checks.filter((c) => !c.ok);
        ctx.say(failedAct.length === 0 ? `\n✓ all ${act.checks.length} checks of act 2 passed (${outcome.checks.length} in all)` : `\n✗ ${failedAct.length} of ${act.checks.length} checks of act 2 failed`);
      }
    }
  } finally {
    await sy?.close();
    await dispose();
    if (marker) ctx.progress('lab finished; its namespaces vanish as this process exits');
  }

  ctx.emitJson({ demo: outcome });
  if (outcome.ok) return;
  if (ctx.json) {
    ctx.exitCode = EXIT_CODES.Internal;
    return;
  }
  const failed = outcome.checks.filter((c) => !c.ok);
  throw new SwitchyardError('SWY_ERR_DEMO_CHECK_FAILED', `The demo saw ${failed.length} unexpected outcome(s): ${failed.map((c) => `${c.what}: ${c.detail}`).join('; ')}`, {
    hint: 'Run `switchyard doctor` to see what this machine lacks.',
  });
}
