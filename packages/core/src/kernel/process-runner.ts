/** How the iproute2 executor starts programs. A port, so unit tests can script ip's answers. */
export interface ProcessResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `file args` without a shell, feeding `input` on stdin. Resolves with the exit code whatever
 * it is; rejects only when the program could not be started (an Error whose `code` is e.g. ENOENT).
 */
export type ProcessRunner = (file: string, args: readonly string[], input?: string) => Promise<ProcessResult>;

type Execa = typeof import('execa').execa;
let execaFn: Promise<Execa> | undefined;

/** The default runner: execa, loaded on first use so that importing core stays cheap. */
export const execaRunner: ProcessRunner = async (file, args, input) => {
  execaFn ??= import('execa').then((m) => m.execa);
  const execa = await execaFn;
  const r = await execa(file, [...args], {
    reject: false,
    stripFinalNewline: false,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  if (r.exitCode === undefined) {
    const e = new Error(r.originalMessage ?? r.shortMessage) as NodeJS.ErrnoException;
    e.code = (r as { code?: string }).code;
    throw e;
  }
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
};
