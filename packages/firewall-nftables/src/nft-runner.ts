import { createRequire } from 'node:module';
import { SwitchyardError } from '@switchyard/core';

/** Runs nft scripts and reads the ruleset back: through libnftables in-process, or the `nft` command. */
export interface NftRunner {
  /** `libnftables` or `nft`. */
  readonly name: string;
  /** Runs a script as one transaction: all of it or none of it. */
  run(script: string): Promise<void>;
  /** Runs a listing command (e.g. `list table inet switchyard`), as JSON (`nft -j`) or as text. */
  list(command: string, json: boolean): Promise<string>;
}

function failed(what: string, message: string, script?: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_FIREWALL_FAILED', `nftables refused ${what}: ${message.trim().split('\n').slice(0, 6).join(' | ')}`, {
    hint: "Nothing of this transaction was applied. Check `nft list ruleset` and `switchyard doctor`; `switchyard firewall reload` reinstalls Switchyard's table.",
    details: script === undefined ? {} : { script: script.length > 4000 ? `${script.slice(0, 4000)}…` : script },
  });
}

// execa is loaded on first use: the libnftables runner (the default) never needs it.
const execa = async () => (await import('execa')).execa;

/** The `nft` command: the reference implementation and the tests' oracle (a process per call). */
export class NftCommandRunner implements NftRunner {
  readonly name = 'nft';
  constructor(private readonly binary = 'nft') {}

  async run(script: string): Promise<void> {
    const r = await (await execa())(this.binary, ['-f', '-'], { input: script, reject: false });
    if (r.exitCode !== 0) throw failed('a transaction', String(r.stderr || r.message), script);
  }

  async list(command: string, json: boolean): Promise<string> {
    const r = await (await execa())(this.binary, [...(json ? ['-j'] : []), ...command.split(' ')], { reject: false });
    if (r.exitCode !== 0) throw failed(command, String(r.stderr || r.message));
    return String(r.stdout);
  }
}

interface Koffi {
  load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
}

const NFT_CTX_OUTPUT_JSON = 1 << 4;

/**
 * libnftables.so.1 (Debian's `nftables` package) through koffi: the same parser and transaction as
 * `nft -f`, without a process per call. One context for scripts, one for JSON listings.
 */
export class LibnftablesRunner implements NftRunner {
  readonly name = 'libnftables';
  private readonly lib: {
    run: (ctx: unknown, buf: string) => number;
    output: (ctx: unknown) => string | null;
    error: (ctx: unknown) => string | null;
  };
  private readonly ctx: unknown;
  private readonly jsonCtx: unknown;

  /** Throws when the library cannot be loaded (nftables not installed). */
  constructor(library = 'libnftables.so.1') {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const so = koffi.load(library);
    const fn = <T>(signature: string): T => so.func(signature) as T;
    const ctxNew = fn<(flags: number) => unknown>('void *nft_ctx_new(uint32_t flags)');
    const bufferOutput = fn<(ctx: unknown) => number>('int nft_ctx_buffer_output(void *ctx)');
    const bufferError = fn<(ctx: unknown) => number>('int nft_ctx_buffer_error(void *ctx)');
    const setFlags = fn<(ctx: unknown, flags: number) => void>('void nft_ctx_output_set_flags(void *ctx, uint32_t flags)');
    this.lib = {
      run: fn('int nft_run_cmd_from_buffer(void *ctx, const char *buf)'),
      output: fn('const char *nft_ctx_get_output_buffer(void *ctx)'),
      error: fn('const char *nft_ctx_get_error_buffer(void *ctx)'),
    };
    const open = (json: boolean) => {
      const ctx = ctxNew(0);
      if (!ctx) throw failed('a context', 'nft_ctx_new returned NULL');
      bufferOutput(ctx);
      bufferError(ctx);
      if (json) setFlags(ctx, NFT_CTX_OUTPUT_JSON);
      return ctx;
    };
    this.ctx = open(false);
    this.jsonCtx = open(true);
  }

  private call(ctx: unknown, what: string, text: string): string {
    const rc = this.lib.run(ctx, text);
    // Both buffers are reset by reading them: read both every time.
    const out = this.lib.output(ctx) ?? '';
    const err = this.lib.error(ctx) ?? '';
    if (rc !== 0) throw failed(what, err || `error ${rc}`, what === 'a transaction' ? text : undefined);
    return out;
  }

  async run(script: string): Promise<void> {
    this.call(this.ctx, 'a transaction', script);
  }

  async list(command: string, json: boolean): Promise<string> {
    return this.call(json ? this.jsonCtx : this.ctx, command, command);
  }
}

/** libnftables when it loads, else the `nft` command. */
export function defaultNftRunner(): NftRunner {
  try {
    return new LibnftablesRunner();
  } catch {
    return new NftCommandRunner();
  }
}
