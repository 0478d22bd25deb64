/**
 * One plugin invocation, from environment and stdin to stdout and exit code (SPEC.md 1.1.0, "Section 2:
 * Execution Protocol"). The plugin executable reads process.env and stdin, calls runPlugin, writes `stdout`
 * and exits with `exitCode`; everything in between is here, without I/O, so that tests drive it directly.
 */
import { gcAttachments, parseConfig, peekConfigVersion, type GcAttachment, type NetConf } from './config.js';
import { parseEnvironment, type CniCommand, type CniEnvironment } from './env.js';
import { CNI_ERROR_CODES, CniError, UNEXPECTED_ERROR_CODE } from './errors.js';
import { resultFor, resultProblems, upconvertPrevResult, type CniResult } from './result.js';
import { isJsonObject, show, summarize } from './validate.js';
import { isSupportedVersion, NEWEST_VERSION, newestVersion, SUPPORTED_VERSIONS, compareVersions, type CniVersion } from './versions.js';

/** What a handler is given: the parsed environment and config, and the config's previous result in the 1.x form. */
export interface PluginContext {
  /** The CNI command being run (`CNI_COMMAND`). */
  command: CniCommand;
  /** The parsed `CNI_*` environment. */
  env: CniEnvironment;
  /** The network configuration from stdin, parsed and checked. */
  config: NetConf;
  /** The config's cniVersion: the version the runtime speaks, and the one the result is printed in. */
  cniVersion: CniVersion;
  /** config.prevResult converted to the 1.x form (0.3.1/0.4.0 ips lose `version`); always set for CHECK. */
  prevResult?: CniResult;
}

/** GC's context adds the attachments to keep: everything else the plugin holds for this network is stale. */
export interface GcContext extends PluginContext {
  /** The attachments the runtime still uses (`cni.dev/valid-attachments`); keep these, collect the rest. */
  validAttachments: GcAttachment[];
}

/** A plugin's operations (function properties, so that a handler object can be spread or destructured). Handlers throw a CniError to choose the error the runtime sees. */
export interface PluginHandlers {
  /** ADD: returns the result in the 1.x form; runPlugin prints it in the config's version. */
  add: (ctx: PluginContext) => Promise<CniResult>;
  /** DEL: releases what ADD made; must succeed when there is nothing left to release. */
  del: (ctx: PluginContext) => Promise<void>;
  /** CHECK: throws a CniError when the attachment in `ctx.prevResult` is not as ADD left it. */
  check: (ctx: PluginContext) => Promise<void>;
  /** STATUS: resolves when the plugin can service ADD, throws (codes 50, 51, ...) when it cannot. Absent: always ready. */
  status?: (ctx: PluginContext) => Promise<void>;
  /** GC: removes what belongs to this network but to none of ctx.validAttachments. Absent: the plugin keeps nothing to collect. */
  gc?: (ctx: GcContext) => Promise<void>;
  /** The versions the plugin speaks, a subset of SUPPORTED_VERSIONS; default all of them. */
  supportedVersions?: readonly CniVersion[];
}

/** The inputs of one plugin invocation, as the executable read them. */
export interface PluginIo {
  /** The process environment (`CNI_COMMAND`, `CNI_CONTAINERID`, …). */
  env: Record<string, string | undefined>;
  /** Everything read from stdin: the network configuration JSON. */
  stdin: string;
}

/** What one plugin invocation produces: the text to print and the exit code. */
export interface PluginOutput {
  /** What to write on stdout: a JSON document, or '' when the command succeeded with nothing to say. */
  stdout: string;
  /** 0 on success, 1 on any error (the spec only asks for non-zero; 1 is what the reference plugins use). */
  exitCode: number;
}

/**
 * Runs one invocation. Never rejects: every failure becomes an error result on stdout with exit code 1, in the
 * config's cniVersion when stdin carries a supported one, else in the newest version the plugin supports.
 *
 * - VERSION prints `{ cniVersion, supportedVersions }` without calling a handler; cniVersion is the one stdin
 *   asked for when the plugin supports it, else the newest the plugin supports (the spec says "the value of
 *   cniVersion specified on input", which cannot be echoed when absent or unsupported).
 * - ADD prints the handler's result, checked against the 1.1.0 schema and converted to the config's version.
 * - DEL, CHECK, STATUS and GC print nothing on success.
 * - STATUS without a handler succeeds: a plugin with no readiness condition is always ready.
 * - GC without a handler succeeds: a plugin that keeps no state of its own has nothing to collect.
 * - A CniError thrown anywhere is printed as is. Any other error is a failure the plugin did not classify:
 *   code 11 (try again later) when it is the OS saying so (EAGAIN), else the plugin-defined code 100
 *   (UNEXPECTED_ERROR_CODE) with the error's message as msg. A result that fails the schema is code 100 too.
 */
export async function runPlugin(handlers: PluginHandlers, io: PluginIo): Promise<PluginOutput> {
  let supported: readonly CniVersion[] = SUPPORTED_VERSIONS;
  try {
    supported = pluginVersions(handlers.supportedVersions);
    return await dispatch(handlers, io, supported);
  } catch (error) {
    const version = peekConfigVersion(io.stdin, supported) ?? newestVersion(supported);
    return { stdout: JSON.stringify(toCniError(error).toJSON(version)), exitCode: 1 };
  }
}

async function dispatch(handlers: PluginHandlers, io: PluginIo, supported: readonly CniVersion[]): Promise<PluginOutput> {
  const env = parseEnvironment(io.env);
  if (env.command === 'VERSION') return succeed(versionAnswer(parseConfig(io.stdin, 'VERSION', supported).cniVersion, supported));
  const config = parseConfig(io.stdin, env.command, supported);
  const ctx: PluginContext = { command: env.command, env, config, cniVersion: config.cniVersion };
  if (config.prevResult !== undefined) ctx.prevResult = upconvertPrevResult(config.prevResult, config.cniVersion);
  switch (env.command) {
    case 'ADD':
      return succeed(resultFor(checkedResult(await handlers.add(ctx)), config.cniVersion));
    case 'DEL':
      await handlers.del(ctx);
      break;
    case 'CHECK':
      await handlers.check(ctx);
      break;
    case 'STATUS':
      await handlers.status?.(ctx);
      break;
    case 'GC': {
      // Read even without a handler: a GC request without its list of attachments is malformed either way.
      const validAttachments = gcAttachments(config);
      await handlers.gc?.({ ...ctx, validAttachments });
      break;
    }
  }
  return { stdout: '', exitCode: 0 };
}

function succeed(answer: object): PluginOutput {
  return { stdout: JSON.stringify(answer), exitCode: 0 };
}

/** The VERSION answer: the requested version when the plugin speaks it, else its newest. */
export function versionAnswer(
  requested: string | undefined,
  supported: readonly CniVersion[] = SUPPORTED_VERSIONS,
): {
  /** The version the answer is written in. */
  cniVersion: CniVersion;
  /** Every version the plugin speaks, oldest first. */
  supportedVersions: CniVersion[];
} {
  return { cniVersion: isSupportedVersion(requested, supported) ? requested : newestVersion(supported), supportedVersions: [...supported] };
}

/** The plugin's versions, sorted and deduplicated; a version this layer cannot speak (or none at all) is a bug in the plugin. */
function pluginVersions(declared: readonly CniVersion[] | undefined): readonly CniVersion[] {
  if (declared === undefined) return SUPPORTED_VERSIONS;
  const unknown = declared.filter((v) => !isSupportedVersion(v));
  if (declared.length === 0 || unknown.length > 0) throw new Error(`supportedVersions must be a non-empty subset of ${SUPPORTED_VERSIONS.join(', ')}, got ${show(declared)}`);
  return [...new Set(declared)].sort(compareVersions);
}

/** The handler's ADD result, when it is a valid 1.x result; a malformed one is the plugin's bug, never printed as a success. */
function checkedResult(result: unknown): CniResult {
  const problems = isJsonObject(result) ? resultProblems({ ...result, cniVersion: NEWEST_VERSION }, NEWEST_VERSION) : [`ADD returned ${show(result)}, not a result object`];
  if (problems.length > 0) throw new CniError(UNEXPECTED_ERROR_CODE, 'plugin produced an invalid result', summarize(problems));
  return result as CniResult;
}

/** Any thrown value as the CniError to print (see runPlugin for the mapping). */
export function toCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  const message = errorMessage(error);
  if (isJsonObject(error) && error.code === 'EAGAIN') return new CniError(CNI_ERROR_CODES.TRY_AGAIN_LATER, 'try again later', message);
  return new CniError(UNEXPECTED_ERROR_CODE, message);
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message === '' ? error.name : error.message;
  try {
    return String(error);
  } catch {
    return 'unknown error'; // e.g. an object without a prototype: String() has nothing to call
  }
}
