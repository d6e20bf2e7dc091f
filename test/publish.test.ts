import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fetchBranches, isFetchFailure, publishTree, pushMain, PublishConfigError, PublishError, type FetchedBranch } from '../src/publish/index.js';
import { tempDir } from './support/temp.js';
import { captureLogger } from './support/logger.js';

/** Runs git against a bare repository (or anywhere) and returns trimmed stdout. */
function git(gitDir: string, ...args: string[]): string {
  return execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }).trim();
}

function initBare(path: string): string {
  execFileSync('git', ['init', '--bare', '--quiet', path]);
  return path;
}

async function writeTree(dir: string, files: Record<string, string | Buffer>): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

function filesOn(remote: string, ref: string): string[] {
  return git(remote, 'ls-tree', '-r', '--name-only', ref).split('\n').filter(Boolean).sort();
}

function tipOf(remote: string, branch: string): string | null {
  try {
    return git(remote, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`);
  } catch {
    return null;
  }
}


const fast = { retries: 2, backoffMs: 5 };

describe('publishTree on a local bare repository', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let remote: string;
  let workDir: string;
  let tree: string;
  beforeAll(async () => {
    tmp = await tempDir('publish');
    remote = initBare(join(tmp.path, 'remote.git'));
    workDir = join(tmp.path, 'var', 'git', 'api1');
    tree = join(tmp.path, 'tree');
  });
  afterAll(() => tmp.remove());

  const publish = (message: string, extra: Partial<Parameters<typeof publishTree>[0]> = {}) =>
    publishTree({ remoteUrl: remote, branch: 'api1', treeDir: tree, message, workDir, ...fast, ...extra });

  it('creates the branch with one commit carrying the message and the default identity', async () => {
    await writeTree(tree, { 'data/ase/latest.json': '{"price":1}\n', 'data/manifest.json': '{"generated_at":"x"}\n', 'data/.gitignore': '*\n' });
    const result = await publish('api1: 2026-11-23 16:45 export');
    expect(result).toMatchObject({ committed: true, pushed: true, attempts: 1 });
    expect(tipOf(remote, 'api1')).toBe(result.sha);
    expect(git(remote, 'log', '--format=%s|%an <%ae>', 'api1')).toBe('api1: 2026-11-23 16:45 export|StakTrakr Poller <poller@staktrakr.invalid>');
    // The whole folder is published, ignore rules inside it included.
    expect(filesOn(remote, 'api1')).toEqual(['data/.gitignore', 'data/ase/latest.json', 'data/manifest.json']);
    expect(git(remote, 'show', 'api1:data/ase/latest.json')).toBe('{"price":1}');
  });

  it('makes no commit and no push when the tree equals the branch, from the same cache or a fresh one', async () => {
    const before = tipOf(remote, 'api1');
    const again = await publish('api1: 2026-11-23 17:00 export');
    expect(again).toEqual({ committed: false, sha: before, pushed: false, attempts: 1 });
    const fresh = await publish('api1: 2026-11-23 17:00 export', { workDir: join(tmp.path, 'fresh-host') });
    expect(fresh).toEqual({ committed: false, sha: before, pushed: false, attempts: 1 });
    expect(git(remote, 'rev-list', '--count', 'api1')).toBe('1');
  });

  it('adds one commit on top for a changed tree, and a removed file disappears', async () => {
    const first = tipOf(remote, 'api1');
    await writeTree(tree, { 'data/ase/latest.json': '{"price":2}\n', 'data/.gitignore': '*\n' });
    const result = await publish('api1: 2026-11-23 17:15 export');
    expect(result).toMatchObject({ committed: true, pushed: true });
    expect(git(remote, 'rev-parse', 'api1^')).toBe(first);
    expect(git(remote, 'rev-list', '--count', 'api1')).toBe('2');
    expect(filesOn(remote, 'api1')).toEqual(['data/.gitignore', 'data/ase/latest.json']);
  });

  it("with history 'tip' the branch holds its latest tree only: a clone never downloads the trees it held before", async () => {
    const branch = 'api9';
    const dir = join(tmp.path, 'tip-tree');
    const work = join(tmp.path, 'tip-work');
    await writeTree(dir, { 'data/ase/latest.json': '{"price":"first-only"}\n' });
    const first = await publishTree({ remoteUrl: remote, branch, treeDir: dir, message: `${branch}: one`, workDir: work, ...fast, history: 'tip' });
    await writeTree(dir, { 'data/ase/latest.json': '{"price":"second"}\n' });
    const second = await publishTree({ remoteUrl: remote, branch, treeDir: dir, message: `${branch}: two`, workDir: work, ...fast, history: 'tip' });
    expect(second).toMatchObject({ committed: true, pushed: true });
    expect(second.sha).not.toBe(first.sha);
    expect(git(remote, 'rev-list', '--count', branch)).toBe('1');
    // An unchanged tree still makes no commit.
    expect(await publishTree({ remoteUrl: remote, branch, treeDir: dir, message: `${branch}: three`, workDir: work, ...fast, history: 'tip' })).toMatchObject({ committed: false, sha: second.sha });
    const clone = join(tmp.path, 'tip-clone.git');
    execFileSync('git', ['clone', '--quiet', '--bare', '--single-branch', '--branch', branch, `file://${remote}`, clone]);
    const objects = execFileSync('git', [`--git-dir=${clone}`, 'rev-list', '--objects', '--all'], { encoding: 'utf8' });
    const firstBlob = execFileSync('git', [`--git-dir=${remote}`, 'rev-parse', `${first.sha}:data/ase/latest.json`], { encoding: 'utf8' }).trim();
    expect(objects).not.toContain(firstBlob);
    expect(objects).not.toContain(first.sha!);
  });

  it('replaces a branch someone else rewrote, from a cache that never saw that history', async () => {
    // Another writer force-pushes an unrelated commit with other files to api1.
    const other = initBare(join(tmp.path, 'other.git'));
    const otherTree = await writeTree(join(tmp.path, 'other-tree'), { 'stray.json': '{}\n' });
    execFileSync('git', [`--git-dir=${other}`, `--work-tree=${otherTree}`, 'add', '-A'], { env: { ...process.env, GIT_INDEX_FILE: join(tmp.path, 'other.index') } });
    const otherTreeId = execFileSync('git', [`--git-dir=${other}`, 'write-tree'], { env: { ...process.env, GIT_INDEX_FILE: join(tmp.path, 'other.index') }, encoding: 'utf8' }).trim();
    const stray = git(other, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit-tree', otherTreeId, '-m', 'stray');
    git(other, 'push', '--quiet', '--force', remote, `${stray}:refs/heads/api1`);
    expect(filesOn(remote, 'api1')).toEqual(['stray.json']);

    await writeTree(tree, { 'data/ase/latest.json': '{"price":3}\n' });
    const result = await publish('api1: 2026-11-23 17:30 export');
    expect(result).toMatchObject({ committed: true, pushed: true });
    expect(tipOf(remote, 'api1')).toBe(result.sha);
    expect(filesOn(remote, 'api1')).toEqual(['data/ase/latest.json']);
  });

  it('retries a rejected push, then fails with an error that says what to do; the next publish carries everything', async () => {
    const before = tipOf(remote, 'api1');
    const hook = join(remote, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "branch is protected" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const { logger, lines } = captureLogger();
    await writeTree(tree, { 'data/ase/latest.json': '{"price":4}\n', 'data/new.json': '{"n":1}\n' });
    const failed = await publish('api1: 2026-11-23 17:45 export', { logger }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PublishError);
    const message = (failed as PublishError).message;
    expect(message).toMatch(/after 3 attempts/);
    expect(message).toMatch(/pre-receive hook declined|branch is protected/);
    expect(message).toMatch(/next publish carries/);
    expect((failed as PublishError).attempts).toBe(3);
    expect(lines.filter((l) => l.includes('publish attempt failed; retrying'))).toHaveLength(2);
    expect(tipOf(remote, 'api1')).toBe(before);

    // The remote disappears altogether: same story.
    await rm(hook);
    await rename(remote, `${remote}.away`);
    const unreachable = await publish('api1: 2026-11-23 18:00 export').catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(PublishError);
    expect((unreachable as Error).message).toMatch(/does not appear to be a git repository|could not read/i);
    await rename(`${remote}.away`, remote);

    await writeTree(tree, { 'data/ase/latest.json': '{"price":5}\n', 'data/new.json': '{"n":1}\n' });
    const recovered = await publish('api1: 2026-11-23 18:15 export');
    expect(recovered).toMatchObject({ committed: true, pushed: true, attempts: 1 });
    expect(git(remote, 'rev-parse', 'api1^')).toBe(before);
    expect(filesOn(remote, 'api1')).toEqual(['data/ase/latest.json', 'data/new.json']);
    expect(git(remote, 'show', 'api1:data/ase/latest.json')).toBe('{"price":5}');
  });

  it('refuses a cache inside the tree, an empty tree and a URL with credentials, without retrying', async () => {
    await expect(publish('x', { workDir: join(tree, 'cache') })).rejects.toThrow(/inside the published tree/);
    const empty = join(tmp.path, 'empty');
    await mkdir(empty, { recursive: true });
    await expect(publish('x', { treeDir: empty })).rejects.toThrow(PublishConfigError);
    const err = await publish('x', { remoteUrl: 'https://bot:s3cr3t-pass@github.example/o/r.git' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(PublishConfigError);
    expect(err.message).toMatch(/GITHUB_TOKEN/);
    expect(err.message).not.toContain('s3cr3t-pass');
    await expect(publish('x', { branch: '--upload-pack=evil' })).rejects.toThrow(/not a valid branch name/);
  });
});

describe('fetchBranches', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let remote: string;
  beforeAll(async () => {
    tmp = await tempDir('publish-fetch');
    remote = initBare(join(tmp.path, 'remote.git'));
    for (const [branch, price] of [['api1', 1], ['api2', 2]] as const) {
      const dir = await writeTree(join(tmp.path, `tree-${branch}`), {
        'data/ase/latest.json': `{"price":${price}}\n`,
        [`data/${branch}.json`]: 'é ünïcode\n',
        'data/snapshot.db.gz': Buffer.from([0x1f, 0x8b, 0x00, 0xff, price]),
      });
      await publishTree({ remoteUrl: remote, branch, treeDir: dir, message: `${branch}: export`, workDir: join(tmp.path, `work-${branch}`), ...fast });
    }
  });
  afterAll(() => tmp.remove());

  it('reads each branch, and a missing branch gets an error entry while the others are fine', async () => {
    const results = await fetchBranches({ remoteUrl: remote, branches: ['api1', 'api9', 'api2'], workDir: join(tmp.path, 'merger') });
    expect(results.map((r) => r.branch)).toEqual(['api1', 'api9', 'api2']);
    const [api1, api9, api2] = results;
    expect(isFetchFailure(api9)).toBe(true);
    expect(api9).toMatchObject({ missing: true, error: expect.stringMatching(/api9 does not exist/) });
    for (const [r, branch, price] of [[api1, 'api1', 1], [api2, 'api2', 2]] as const) {
      expect(isFetchFailure(r)).toBe(false);
      const ok = r as FetchedBranch;
      expect(ok.sha).toBe(tipOf(remote, branch));
      expect([...ok.files.keys()].sort()).toEqual([`data/${branch}.json`, 'data/ase/latest.json']);
      expect(ok.files.get('data/ase/latest.json')).toBe(`{"price":${price}}\n`);
      expect(ok.files.get(`data/${branch}.json`)).toBe('é ünïcode\n');
      expect([...ok.binaryFiles.entries()]).toEqual([['data/snapshot.db.gz', Buffer.from([0x1f, 0x8b, 0x00, 0xff, price])]]);
    }
    // Again from the warm cache: same answer.
    const again = await fetchBranches({ remoteUrl: remote, branches: ['api2'], workDir: join(tmp.path, 'merger') });
    expect((again[0] as FetchedBranch).files).toEqual((api2 as FetchedBranch).files);
  });

  it('gives every branch an error entry, not missing, when the remote is unreachable', async () => {
    const results = await fetchBranches({ remoteUrl: join(tmp.path, 'nowhere.git'), branches: ['api1', 'api2'], workDir: join(tmp.path, 'merger') });
    expect(results).toEqual([
      { branch: 'api1', error: expect.stringMatching(/could not reach/), missing: false },
      { branch: 'api2', error: expect.stringMatching(/could not reach/), missing: false },
    ]);
  });
});

describe('pushMain', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let remote: string;
  beforeAll(async () => {
    tmp = await tempDir('publish-main');
    remote = initBare(join(tmp.path, 'remote.git'));
  });
  afterAll(() => tmp.remove());

  const merged = (price: number) => new Map<string, string>([['data/ase/latest.json', `{"price":${price}}\n`], ['data/manifest.json', `{"v":${price}}\n`]]);
  const push = (expectedSha: string | null, files: Map<string, string>, extra: Partial<Parameters<typeof pushMain>[0]> = {}) =>
    pushMain({ remoteUrl: remote, files, message: `merge: api1+api2 @ ${files.get('data/manifest.json')?.trim()}`, workDir: join(tmp.path, 'merger'), expectedSha, ...fast, ...extra });

  it('creates main, adds one commit per changed merge, and makes none when unchanged', async () => {
    const first = await push(null, merged(1));
    expect(first).toMatchObject({ committed: true, pushed: true, conflict: false });
    expect(tipOf(remote, 'main')).toBe(first.sha);
    const same = await push(first.sha, merged(1));
    expect(same).toMatchObject({ committed: false, pushed: false, conflict: false, sha: first.sha });
    const second = await push(first.sha, merged(2));
    expect(second).toMatchObject({ committed: true, pushed: true, conflict: false });
    expect(git(remote, 'rev-list', '--count', 'main')).toBe('2');
    expect(git(remote, 'rev-parse', 'main^')).toBe(first.sha);
    expect(git(remote, 'log', '-1', '--format=%s', 'main')).toBe('merge: api1+api2 @ {"v":2}');

    const tree = await writeTree(join(tmp.path, 'merged-tree'), { 'data/ase/latest.json': '{"price":3}\n' });
    const fromDir = await pushMain({ remoteUrl: remote, treeDir: tree, message: 'merge: from a folder', workDir: join(tmp.path, 'merger'), expectedSha: second.sha, ...fast });
    expect(fromDir).toMatchObject({ committed: true, pushed: true, conflict: false });
    expect(filesOn(remote, 'main')).toEqual(['data/ase/latest.json']);
  });

  it('returns conflict for a stale expectedSha (or null when main exists) and leaves main unchanged', async () => {
    const tip = tipOf(remote, 'main')!;
    const stale = git(remote, 'rev-parse', 'main^');
    expect(await push(stale, merged(9))).toEqual({ committed: false, sha: null, pushed: false, conflict: true, attempts: 1 });
    expect(await push(null, merged(9))).toMatchObject({ conflict: true, pushed: false });
    // A fresh host whose expectedSha is gone from the remote tip: conflict too, not an error.
    expect(await push(stale, merged(9), { workDir: join(tmp.path, 'other-host') })).toMatchObject({ conflict: true, pushed: false });
    expect(tipOf(remote, 'main')).toBe(tip);
  });

  it('lets exactly one of two concurrent mergers from the same expected sha win, on two hosts or one', async () => {
    if (!tipOf(remote, 'main')) await push(null, merged(50));
    for (const [round, hostA, hostB] of [[1, 'host-a', 'host-b'], [2, 'shared', 'shared']] as const) {
      const expected = tipOf(remote, 'main')!;
      await fetchBranches({ remoteUrl: remote, branches: ['main'], workDir: join(tmp.path, hostA) });
      await fetchBranches({ remoteUrl: remote, branches: ['main'], workDir: join(tmp.path, hostB) });
      const results = await Promise.all([
        push(expected, merged(100 + round), { workDir: join(tmp.path, hostA) }),
        push(expected, merged(200 + round), { workDir: join(tmp.path, hostB) }),
      ]);
      const winners = results.filter((r) => r.pushed);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.conflict)).toHaveLength(1);
      expect(tipOf(remote, 'main')).toBe(winners[0].sha);
      expect(git(remote, 'rev-parse', 'main^')).toBe(expected);
    }
  });

  it('refuses paths that leave the tree', async () => {
    const files = new Map([['../escape.json', '{}']]);
    await expect(push(tipOf(remote, 'main'), files)).rejects.toThrow(PublishConfigError);
    await expect(push(tipOf(remote, 'main'), new Map([['.git/config', 'x']]))).rejects.toThrow(/not a plain relative path/);
  });
});
