/**
 * CNI's error result (SPEC.md 1.1.0, "Error"): what a plugin prints on stdout, with a non-zero exit code,
 * when an operation fails. Codes 0-99 are the spec's well-known ones; 100 and up are the plugin's own.
 */

/** The spec's well-known error codes. */
export const CNI_ERROR_CODES = {
  /** Incompatible CNI version. */
  INCOMPATIBLE_VERSION: 1,
  /** Unsupported field in network configuration; the message must name the key and value. */
  UNSUPPORTED_FIELD: 2,
  /** Container unknown or does not exist; the runtime need not clean up (e.g. call DEL). */
  UNKNOWN_CONTAINER: 3,
  /** Invalid necessary environment variables (CNI_COMMAND, CNI_CONTAINERID...); the message must name them. */
  INVALID_ENVIRONMENT: 4,
  /** I/O failure, e.g. failed to read the network config from stdin. */
  IO_FAILURE: 5,
  /** Failed to decode content, e.g. the network config is not JSON. */
  DECODING_FAILURE: 6,
  /** Invalid network config: a validation of the config did not pass. */
  INVALID_NETWORK_CONFIG: 7,
  /** Try again later: a transient condition the plugin expects to clear up. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin is not available (cannot service ADD requests). */
  PLUGIN_NOT_AVAILABLE: 50,
  /** STATUS: the plugin is not available, and existing containers in the network may have limited connectivity. */
  PLUGIN_NOT_AVAILABLE_LIMITED_CONNECTIVITY: 51,
} as const;

/**
 * The plugin-defined code (100+ is the plugins' range) that runPlugin reports for a failure that is not a
 * CniError: a bug, or an error from a library that knows nothing of CNI. The Go skel uses 999 for this; any
 * value of 100 or more is as valid, and the first one leaves the rest of the range to the plugins.
 */
export const UNEXPECTED_ERROR_CODE = 100;

/** The error result, field for field as the spec writes it. */
export interface CniErrorResult {
  /** The version the error is written in. */
  cniVersion: string;
  /** The error code: 1–11 and 50–51 are the spec's, 100 and up the plugin's own. */
  code: number;
  /** A short message. */
  msg: string;
  /** A longer explanation, when there is one. */
  details?: string;
}

/** A failure that maps to one CNI error result. Throw it from a handler to choose the code the runtime sees. */
export class CniError extends Error {
  /** Always `CniError`. */
  override readonly name = 'CniError';
  /** The spec's `code` (a uint): a CNI_ERROR_CODES value, or 100+ for a plugin-specific error. */
  readonly code: number;
  /** The spec's `msg`: a short characterization of the error. */
  readonly msg: string;
  /** The spec's optional `details`: a longer description. */
  readonly details?: string;

  constructor(code: number, msg: string, details?: string) {
    super(details === undefined ? msg : `${msg}: ${details}`);
    // The spec types `code` as a uint; anything else would print an error result no runtime can read.
    if (!Number.isSafeInteger(code) || code < 0) throw new RangeError(`a CNI error code is a non-negative integer, not ${String(code)}`);
    this.code = code;
    this.msg = msg;
    if (details !== undefined) this.details = details;
  }

  /**
   * The error result for a runtime speaking `cniVersion`. Call it with the version: JSON.stringify(error)
   * would pass the property key ('' at the top level) instead, so always stringify `error.toJSON(version)`.
   */
  toJSON(cniVersion: string): CniErrorResult {
    const result: CniErrorResult = { cniVersion, code: this.code, msg: this.msg };
    if (this.details !== undefined) result.details = this.details;
    return result;
  }
}
