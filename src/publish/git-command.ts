import type { Readable } from 'node:stream';
import { simpleGit } from 'simple-git';
import { scrubText } from './scrub.js';
import { UNSAFE } from './simple-git-options.js';

// Every git command runs through simple-git, one instance per command, so each gets its own environment,
// stdin (simple-git's `input`), abort signal (the kill timeout) and raw result (its `errors` hook sees exit code
// and Buffer output). Per-command config, the token included, goes only into GIT_CONFIG_COUNT/KEY/VALUE of that
// one child: never argv (simple-git's `config` option would use `-c`), never a config file.
// simple-git's guards are opted out of and its debug output switched off: see simple-git-options.ts.

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

interface RawResult {
  exitCode: number | null;
  stdOut: Buffer[];
  stdErr: Buffer[];
}

/** Runs one git command; never prompts (a missing credential fails at once) and never writes secrets anywhere. */
export async function runGit(args: ReadonlyArray<string>, options: GitRunOptions = {}): Promise<GitResult> {
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
  // Always a Buffer, even empty: simple-git then ends stdin, so git reads EOF rather than waiting.
  const stdin = typeof input === 'string' ? Buffer.from(input, 'utf8') : (input ?? Buffer.alloc(0));
  const abort = new AbortController(); // simple-git stops the child (SIGINT: git removes its lock files and exits)
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  let raw: RawResult | undefined;
  let pipes: Readable[] = [];
  try {
    await simpleGit({
      abort: abort.signal,
      allowEnvironment: Object.keys(env), // the environment is exactly `env`: nothing else inherited, nothing refused
      unsafe: UNSAFE,
      // Done when git's pipes close, or 50 ms after git exits: a remote helper git left behind (killed ls-remote
      // or fetch over http) may hold the pipes open, and must not hold up the timeout.
      completion: { onClose: true, onExit: 50 },
      input: () => stdin,
      errors: (_error, result) => {
        raw = result; // we judge the exit code ourselves
        return undefined;
      },
    })
      .env(env)
      // simple-git waits 50 ms more after a child that printed nothing (update-ref, add...); an empty chunk at the
      // end of stdout counts as output, so it answers at once.
      .outputHandler((_command, stdout, stderr) => {
        pipes = [stdout, stderr] as Readable[];
        stdout.once('end', () => stdout.emit('data', Buffer.alloc(0)));
      })
      .raw([...fullArgs]);
  } catch (e) {
    throw new GitCommandError(label, -1, scrubText(e instanceof Error ? e.message : String(e), secrets));
  } finally {
    clearTimeout(timer);
    if (timedOut) for (const pipe of pipes) pipe.destroy(); // a left-behind helper must not keep them (and us) open
  }
  if (!raw) throw new GitCommandError(label, -1, 'git gave no result');
  const stderrText = Buffer.concat(raw.stdErr).toString('utf8');
  if (raw.exitCode !== null && raw.exitCode < 0) {
    // A spawn failure: simple-git reports the errno as the exit code and the error's stack as stderr.
    const reason = scrubText(stderrText.split('\n')[0].replace(/^Error: /, ''), secrets);
    throw new GitCommandError(label, -1, `could not start git (${reason}); install git 2.31 or newer`);
  }
  const stderr = scrubText(stderrText, secrets) + (timedOut ? `\n(killed after ${timeoutMs} ms)` : '');
  const exitCode = raw.exitCode ?? -1;
  if (exitCode !== 0 && !allowFailure) throw new GitCommandError(label, exitCode, stderr);
  return { code: exitCode, stdout: Buffer.concat(raw.stdOut), stderr };
}

/** stdout as trimmed text. */
export async function gitText(args: ReadonlyArray<string>, options: GitRunOptions = {}): Promise<string> {
  return (await runGit(args, options)).stdout.toString('utf8').trim();
}
