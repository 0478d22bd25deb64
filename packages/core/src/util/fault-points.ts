import { appendFileSync } from 'node:fs';

/**
 * Fault injection for crash tests. Each multi-step operation calls `faultPoint(name)` between its
 * steps. Unless `SWITCHYARD_FAULT_POINT` or `SWITCHYARD_FAULT_TRACE` is set when the process starts,
 * or a test installs a hook, a call is one comparison and returns.
 *
 * - `SWITCHYARD_FAULT_POINT=<name>` SIGKILLs this process the first time it reaches `<name>`
 *   (`<name>#<n>` the n-th time), exactly as a crash or an OOM kill would.
 * - `SWITCHYARD_FAULT_TRACE=<file>` appends the name of each point reached, one per line.
 *
 * Later features declare their own points with `declareFaultPoints`; the crash matrix test runs
 * every declared point.
 */
const armedSpec = process.env.SWITCHYARD_FAULT_POINT || undefined;
const traceFile = process.env.SWITCHYARD_FAULT_TRACE || undefined;
const armed = armedSpec === undefined ? undefined : parseArmed(armedSpec);
const hits = new Map<string, number>();
let hook: ((point: string) => void) | undefined;
const declared = new Set<string>();

const CORE_POINTS = [
  'network.create:intent-written',
  'network.create:pool-requested',
  'network.create:driver-planned',
  'network.create:plan-recorded',
  'network.create:kernel-applied',
  'network.create:firewall-applied',
  'network.create:committed',
  'network.delete:intent-written',
  'network.delete:firewall-removed',
  'network.delete:kernel-removed',
  'network.delete:pools-released',
  'network.delete:record-deleted',
  'sandbox.create:intent-written',
  'sandbox.create:netns-created',
  'sandbox.create:files-written',
  'sandbox.create:committed',
  'sandbox.delete:intent-written',
  'sandbox.delete:torn-down',
  'sandbox.delete:record-deleted',
  'connect:intent-written',
  'connect:address-allocated',
  'connect:endpoint-created',
  'connect:kernel-applied',
  'connect:firewall-applied',
  'connect:committed',
  'disconnect:intent-written',
  'disconnect:kernel-removed',
  'disconnect:released',
  'disconnect:committed',
  'disconnect:retired',
  'disconnect:batch-deleted',
] as const;

/**
 * The fault points core's own operations pass, `<operation>:<step reached>`.
 *
 * @useDeclaredType
 */
export type CoreFaultPoint = (typeof CORE_POINTS)[number];

/** Registers fault point names (a feature's own steps); returns them for the feature's use. */
export function declareFaultPoints<const T extends readonly string[]>(names: T): T {
  for (const n of names) declared.add(n);
  return names;
}

declareFaultPoints(CORE_POINTS);

/** Every declared fault point, in declaration order. */
export function faultPoints(): string[] {
  return [...declared];
}

/** Marks a point between two steps of an operation; see the module comment. */
export function faultPoint(point: string): void {
  if (armed === undefined && traceFile === undefined && hook === undefined) return;
  reach(point);
}

/** In-process tests: `fn` runs at every point reached (throw from it to simulate a failure there). */
export function setFaultHook(fn: ((point: string) => void) | undefined): void {
  hook = fn;
}

function reach(point: string): void {
  if (traceFile !== undefined) appendFileSync(traceFile, point + '\n');
  hook?.(point);
  if (armed?.point !== point) return;
  const n = (hits.get(point) ?? 0) + 1;
  hits.set(point, n);
  if (n === armed.occurrence) process.kill(process.pid, 'SIGKILL');
}

function parseArmed(spec: string): { point: string; occurrence: number } {
  const m = /^(.*)#(\d+)$/.exec(spec);
  return m ? { point: m[1] as string, occurrence: Number(m[2]) } : { point: spec, occurrence: 1 };
}
