import { spawn } from 'node:child_process';
import { scrubText } from './scrub.js';

// Plain child processes rather than simple-git: we need stdin (cat-file --batch, commit messages),
// Buffer output, and per-command config in the environment, which simple-git's env and config guards refuse.

export interface GitRunOptions {
  /** Repository to run in (`--git-dir`). */
  gitDir?: string;
  /** Working tree to read files from (`--work-tree`); used with a temporary index. */
  workTree?: string;
  /** Extra environment, e.g. GIT_INDEX_FILE or commit identity. */
  env?: Record<string, string>;
  /** Config for this one command, passed as GIT_CONFIG_COUNT/KEY/VALUE so that `ps` and `.git/config` never see it. */
  config?: ReadonlyArray<readonly [string, string]>;
  /** Bytes for stdin. */
  input?: string | Buffer;
  /** Values to scrub from the error message (the token and its header). */
  secrets?: ReadonlyArray<string>;
  /** Resolve with the exit code instead of throwing on a non-zero exit. Default false. */
  allowFailure?: boolean;
  /** Kill the command after this long, in ms, so a hung remote cannot stall a queue. Default 300000. */
  timeoutMs?: number;
}

export interface GitResult {
  code: number;
  stdout: Buffer;
  /** Already scrubbed of secrets. */
  stderr: string;
}

/** A git command failed; message and stderr are scrubbed of secrets. */
export class GitCommandError extends Error {
  constructor(readonly command: string, readonly exitCode: number, readonly stderr: string) {
    super(`git ${command} failed (exit ${exitCode}): ${stderr.trim() || '(no output)'}`);
    this.name = 'GitCommandError';
  }
}

/** Config every command gets: no stored credentials read or written, no background gc racing our temp files. */
const BASE_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['credential.helper', ''],
  ['gc.autoDetach', 'false'],
  ['core.autocrlf', 'false'],
];

/** Inherited variables that would redirect git (GIT_DIR, GIT_INDEX_FILE, GIT_TRACE*, GIT_CONFIG_*...); ssh settings stay. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith('GIT_') && !k.startsWith('GIT_SSH') && k !== 'GIT_EXEC_PATH') continue;
    env[k] = v;
  }
  return env;
}

/** Runs one git command; never prompts (a missing credential fails at once) and never writes secrets anywhere. */
export function runGit(args: ReadonlyArray<string>, options: GitRunOptions = {}): Promise<GitResult> {
  const { gitDir, workTree, config = [], input, secrets = [], allowFailure = false, timeoutMs = 300_000 } = options;
  const fullArgs = [...(gitDir ? [`--git-dir=${gitDir}`] : []), ...(workTree ? [`--work-tree=${workTree}`] : []), ...args];
  const allConfig = [...BASE_CONFIG, ...config];
  const env: Record<string, string> = {
    ...inheritedEnv(),
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    GIT_CONFIG_COUNT: String(allConfig.length),
    ...(options.env ?? {}),
  };
  allConfig.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  const label = scrubText(args.slice(0, 2).join(' '), secrets);
  return new Promise((resolve, reject) => {
    const child = spawn('git', fullArgs, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => undefined); // git may exit before reading all input; the exit code tells
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new GitCommandError(label, -1, `could not start git (${e.message}); install git 2.31 or newer`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stderr = scrubText(Buffer.concat(err).toString('utf8'), secrets) + (timedOut ? `\n(killed after ${timeoutMs} ms)` : '');
      const exitCode = code ?? -1;
      if (exitCode !== 0 && !allowFailure) reject(new GitCommandError(label, exitCode, stderr));
      else resolve({ code: exitCode, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** stdout as trimmed text. */
export async function gitText(args: ReadonlyArray<string>, options: GitRunOptions = {}): Promise<string> {
  return (await runGit(args, options)).stdout.toString('utf8').trim();
}
