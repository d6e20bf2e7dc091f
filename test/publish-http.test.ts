import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { fetchBranches, publishTree, pushMain, PublishError, type FetchedBranch } from '../src/publish/index.js';
import { startGitHttpServer, type GitHttpServer } from './support/git-http-server.js';
import { tempDir } from './support/temp.js';

const execFileAsync = promisify(execFile);
const TOKEN = 'ghs_TestToken0123456789abcdefSECRET';
const TOKEN_HEADER = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const WRONG_TOKEN = 'ghs_WrongToken9876543210zyxwvu';

function git(gitDir: string, ...args: string[]): string {
  return execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
}

/** Every file under `dir`, as raw bytes. */
async function allFiles(dir: string): Promise<Array<{ path: string; bytes: Buffer }>> {
  const out: Array<{ path: string; bytes: Buffer }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    out.push({ path, bytes: await readFile(path) });
  }
  return out;
}

/** Every object of a repository, decompressed: what loose and packed files hide from a byte search. */
function allObjects(gitDir: string): string {
  return git(gitDir, 'cat-file', '--batch-all-objects', '--batch');
}

describe('publishing over HTTP with a token', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: GitHttpServer;
  let remoteUrl: string;
  let bare: string;
  let tree: string;
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const errors: string[] = [];

  beforeAll(async () => {
    tmp = await tempDir('publish-http');
    const root = join(tmp.path, 'srv');
    bare = join(root, 'fleet.git');
    execFileSync('git', ['init', '--bare', '--quiet', bare]);
    git(bare, 'config', 'http.receivepack', 'true');
    server = await startGitHttpServer({ projectRoot: root, token: TOKEN });
    remoteUrl = `${server.url}/fleet.git`;
    tree = join(tmp.path, 'tree');
    await mkdir(join(tree, 'data'), { recursive: true });
    // Big enough that git gzips and chunks its request bodies.
    const big = Array.from({ length: 4000 }, (_, i) => `{"coin":"c${i}","price":${(i * 37.13).toFixed(2)},"vendor":"v${i % 17}"}`).join('\n');
    await writeFile(join(tree, 'data', 'latest.json'), `${big}\n`);
    for (let i = 0; i < 60; i++) await writeFile(join(tree, 'data', `coin-${i}.json`), `{"coin":${i},"r":"${Math.random()}"}\n`);
  });
  afterAll(async () => {
    await server?.stop();
    await tmp.remove();
  });

  const workDir = () => join(tmp.path, 'work');

  it('publishes with the token, which travels only in the Authorization header', async () => {
    const result = await publishTree({ remoteUrl, branch: 'api1', treeDir: tree, message: 'api1: 2026-11-23 16:45 export', token: TOKEN, workDir: workDir(), logger, retries: 1, backoffMs: 5 });
    expect(result).toMatchObject({ committed: true, pushed: true, attempts: 1 });
    expect(git(bare, 'rev-parse', 'refs/heads/api1')).toBe(result.sha);
    expect(git(bare, 'ls-tree', '-r', '--name-only', 'api1').split('\n')).toHaveLength(61);
    expect(server.requests.map((r) => r.authorization)).toContain(`Basic ${TOKEN_HEADER}`);

    const again = await publishTree({ remoteUrl, branch: 'api1', treeDir: tree, message: 'api1: again', token: TOKEN, workDir: workDir(), logger });
    expect(again).toMatchObject({ committed: false, pushed: false });
  });

  it('puts the token on no command line (which `ps` shows)', async () => {
    const shim = join(tmp.path, 'shim');
    const argvLog = join(tmp.path, 'argv.log');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    await mkdir(shim, { recursive: true });
    await writeFile(join(shim, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${shim}:${path}`;
    try {
      await writeFile(join(tree, 'data', 'coin-1.json'), '{"coin":1,"argv":true}\n');
      const result = await publishTree({ remoteUrl, branch: 'api1', treeDir: tree, message: 'api1: argv check', token: TOKEN, workDir: workDir(), logger });
      expect(result).toMatchObject({ committed: true, pushed: true });
    } finally {
      process.env.PATH = path;
    }
    const argv = await readFile(argvLog, 'utf8');
    expect(argv).toMatch(/^.*\bpush --porcelain\b.*$/m);
    expect(argv).toMatch(/ls-remote/);
    expect(argv).not.toContain(TOKEN);
    expect(argv).not.toContain(TOKEN_HEADER);
  });

  it('fails without the token, or with a wrong one, with an error that names neither', async () => {
    await writeFile(join(tree, 'data', 'coin-0.json'), '{"coin":0,"changed":true}\n');
    for (const token of [undefined, WRONG_TOKEN]) {
      const err = await publishTree({ remoteUrl, branch: 'api1', treeDir: tree, message: 'api1: no token', token, workDir: workDir(), logger, retries: 1, backoffMs: 5 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(PublishError);
      expect(err.message).toMatch(/after 2 attempts/);
      expect(err.message).toMatch(/GITHUB_TOKEN/);
      errors.push(err.message, String(err.stack));
      expect(err.message).not.toContain(TOKEN);
      if (token) expect(err.message + err.stack).not.toContain(token);
    }
    expect(server.requests.map((r) => r.authorization)).toContain(undefined);
  });

  it('fetches branches and pushes main over HTTP with the token', async () => {
    const [api1, main] = await fetchBranches({ remoteUrl, branches: ['api1', 'main'], token: TOKEN, workDir: join(tmp.path, 'merger'), logger });
    expect((api1 as FetchedBranch).files.size).toBe(61);
    expect(main).toMatchObject({ branch: 'main', missing: true });
    const pushed = await pushMain({ remoteUrl, files: (api1 as FetchedBranch).files, message: 'merge: api1 @ 16:45', token: TOKEN, workDir: join(tmp.path, 'merger'), expectedSha: null, logger });
    expect(pushed).toMatchObject({ committed: true, pushed: true, conflict: false });
    expect(git(bare, 'rev-parse', 'refs/heads/main')).toBe(pushed.sha);
    const stale = await pushMain({ remoteUrl, files: new Map([['data/x.json', '{}\n']]), message: 'merge: stale', token: TOKEN, workDir: join(tmp.path, 'merger'), expectedSha: null, logger });
    expect(stale).toMatchObject({ conflict: true, pushed: false });
    const denied = await fetchBranches({ remoteUrl, branches: ['api1'], workDir: join(tmp.path, 'merger') });
    expect(denied).toEqual([{ branch: 'api1', error: expect.stringMatching(/could not reach/), missing: false }]);
  });

  it('serves gzip and chunked request bodies (the test server speaks what real git clients send)', async () => {
    const client = join(tmp.path, 'client.git');
    execFileSync('git', ['init', '--bare', '--quiet', client]);
    const env = { ...process.env, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${TOKEN_HEADER}`, GIT_TERMINAL_PROMPT: '0' };
    // 60 local commits the server lacks: the negotiation's "have" lines exceed 1 KB, which git gzips.
    let parent: string[] = [];
    for (let i = 0; i < 60; i++) {
      const blob = execFileSync('git', [`--git-dir=${client}`, 'hash-object', '-w', '--stdin'], { input: `local ${i}\n`, encoding: 'utf8' }).trim();
      const treeId = execFileSync('git', [`--git-dir=${client}`, 'mktree'], { input: `100644 blob ${blob}\tlocal.txt\n`, encoding: 'utf8' }).trim();
      const commit = execFileSync('git', [`--git-dir=${client}`, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', treeId, ...parent, '-m', `local ${i}`], { encoding: 'utf8' }).trim();
      parent = ['-p', commit];
      execFileSync('git', [`--git-dir=${client}`, 'update-ref', `refs/heads/local${i}`, commit]);
    }
    // Async: the server runs in this process, so a synchronous client would block it.
    await execFileAsync('git', [`--git-dir=${client}`, 'fetch', '--quiet', remoteUrl, '+refs/heads/api1:refs/remotes/origin/api1'], { env });
    expect(git(client, 'rev-parse', 'refs/remotes/origin/api1')).toBe(git(bare, 'rev-parse', 'refs/heads/api1'));
    expect(server.requests.some((r) => r.method === 'POST' && r.contentEncoding === 'gzip')).toBe(true);
    // A small postBuffer makes git stream the pack chunked, without a Content-Length.
    await execFileAsync('git', [`--git-dir=${client}`, '-c', 'http.postBuffer=1024', 'push', '--quiet', remoteUrl, 'refs/heads/local59:refs/heads/client'], { env });
    expect(git(bare, 'rev-list', '--count', 'refs/heads/client')).toBe('60');
    expect(server.requests.some((r) => r.method === 'POST' && r.url.endsWith('/git-receive-pack') && r.chunked)).toBe(true);
  });

  it('leaves the token nowhere: not in the caches, their git config, the pushed content or the logs', async () => {
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.some((l) => l.includes('publish attempt failed; retrying'))).toBe(true);
    const haystacks: Array<[string, string]> = [
      ['log lines', lines.join('')],
      ['error messages', errors.join('\n')],
      ['pushed objects', allObjects(bare)],
      ['cache objects', allObjects(join(tmp.path, 'work', 'cache.git'))],
      ['merger cache objects', allObjects(join(tmp.path, 'merger', 'cache.git'))],
    ];
    for (const dir of [workDir(), join(tmp.path, 'merger'), join(tmp.path, 'srv')]) {
      for (const f of await allFiles(dir)) haystacks.push([f.path, f.bytes.toString('latin1')]);
    }
    expect(haystacks.some(([name]) => name.endsWith(join('cache.git', 'config')))).toBe(true);
    for (const [name, text] of haystacks) {
      for (const secret of [TOKEN, TOKEN_HEADER, WRONG_TOKEN]) expect(text.includes(secret), name).toBe(false);
    }
    expect(await readFile(join(workDir(), 'cache.git', 'config'), 'utf8')).not.toMatch(/remote|extraheader|127\.0\.0\.1/i);
  });
});
