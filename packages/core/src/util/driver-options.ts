import { SwitchyardError } from '../errors/switchyard-error.js';
import type { Json, JsonObject } from '../model/types.js';

/** How one driver option is read: its type and an optional extra check. */
export type OptionSpec =
  | {
      /** A boolean; the strings `true`/`1` and `false`/`0` are accepted too. */
      type: 'boolean';
      /** Value when the option is absent or null. */
      default?: boolean;
    }
  | {
      /** An integer; a string of digits is accepted too. */
      type: 'integer';
      /** Smallest accepted value. */
      min: number;
      /** Largest accepted value. */
      max: number;
      /** Value when the option is absent or null. */
      default?: number;
    }
  | {
      /** A string. */
      type: 'string';
      /** The value must match this expression. */
      pattern?: RegExp;
      /** The value must be one of these. */
      oneOf?: readonly string[];
      /** Value when the option is absent or null. */
      default?: string;
      /** What the option accepts, in words, for error hints (e.g. `an interface name`). */
      describe?: string;
    };

/**
 * Reads driver options against a table: unknown keys, wrong types and out-of-range values are refused
 * with SWY_ERR_INVALID_OPTION naming the key and what it accepts. Returns the options with defaults filled in.
 */
export function readDriverOptions(driver: string, specs: Record<string, OptionSpec>, options: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(options)) {
    if (!(key in specs)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The ${driver} driver has no option "${key}"`, {
        hint: `Known options: ${Object.keys(specs).join(', ') || '(none)'}.`,
      });
    }
  }
  for (const [key, spec] of Object.entries(specs)) {
    const value: Json | undefined = options[key];
    if (value === undefined || value === null) {
      if (spec.default !== undefined) out[key] = spec.default;
      continue;
    }
    out[key] = checkOne(driver, key, spec, value);
  }
  return out;
}

function checkOne(driver: string, key: string, spec: OptionSpec, raw: Json): Json {
  const bad = (accepts: string): never => {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The ${driver} driver's option "${key}" cannot be ${JSON.stringify(raw)}`, { hint: `It accepts ${accepts}.` });
  };
  // Options from the CLI and net.d files arrive as strings; accept their obvious spellings.
  switch (spec.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      return bad('true or false');
    case 'integer': {
      const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < spec.min || n > spec.max) return bad(`an integer from ${spec.min} to ${spec.max}`);
      return n;
    }
    case 'string':
      if (typeof raw !== 'string') return bad(spec.describe ?? 'a string');
      if (spec.oneOf && !spec.oneOf.includes(raw)) return bad(`one of ${spec.oneOf.join(', ')}`);
      if (spec.pattern && !spec.pattern.test(raw)) return bad(spec.describe ?? `a value matching ${spec.pattern}`);
      return raw;
  }
}

/** Linux interface names: 1-15 characters, no '/', ':' or whitespace. */
// `all` and `default` are not interface names: the kernel's net.ipv4.conf.all/default settings own those words.
export const IFNAME_PATTERN = /^(?!(?:all|default)$)[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,14}$/;

/** The JoinPlan gateway fields for a network: its gateways when `enabled`, else no default route at all. */
export function defaultGateways(
  network: { ipv4?: { gateway?: string }; ipv6?: { gateway?: string } },
  enabled: boolean,
): {
  /** The network's IPv4 gateway, when enabled and it has one. */
  gateway4?: string;
  /** The network's IPv6 gateway, when enabled and it has one. */
  gateway6?: string;
  /** Set when not enabled: no default route through the endpoint. */
  disableGateway?: true;
} {
  if (!enabled) return { disableGateway: true };
  return { ...(network.ipv4?.gateway ? { gateway4: network.ipv4.gateway } : {}), ...(network.ipv6?.gateway ? { gateway6: network.ipv6.gateway } : {}) };
}
