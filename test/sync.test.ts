import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { syncRepositories, SyncConfigError, SyncError, type SyncRepositoriesResult } from '../src/sync/index.js';
import { DEFAULT_IDENTITY } from '../src/publish/write-tree.js';
import { startGitHttpServer, type GitHttpServer } from './support/git-http-server.js';
import { tempDir } from './support/temp.js';
import { captureLogger } from './support/logger.js';

const AUTHOR = { GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid' };

/** git in a folder (a scratch clone) or, with `--git-dir=...` first, in a bare repository. */
function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...AUTHOR }, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
const bareGit = (bare: string, ...args: string[]) => git([`--git-dir=${bare}`, ...args]);

type Content = string | { link: string };

/** A bare repository with `main` holding exactly `files` (one commit); a `{link}` entry is a symbolic link. */
async function makeRemote(root: string, name: string, files: Record<string, Content> | null): Promise<string> {
  const bare = join(root, `${name}.git`);
  git(['init', '--bare', '--quiet', '--initial-branch=main', bare]);
  if (files) await commitTo(bare, files, `${name}: first files`);
  return bare;
}

let scratchCount = 0;
/** Commits `files` on top of main (or as its first commit) through a scratch clone and pushes; returns the clone. */
async function commitTo(bare: string, files: Record<string, Content>, message: string, push = true): Promise<string> {
  const clone = join(dirname(bare), `scratch-${++scratchCount}`);
  git(['clone', '--quiet', bare, clone]);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(clone, path)), { recursive: true });
    if (typeof content === 'string') await writeFile(join(clone, path), content);
    else await symlink(content.link, join(clone, path));
  }
  git(['add', '--all'], clone);
  git(['commit', '--quiet', '-m', message], clone);
  if (push) git(['push', '--quiet', 'origin', 'HEAD:main'], clone);
  return clone;
}

/** path -> `mode oid` of every entry of a commit's tree. */
function treeOf(bare: string, rev: string): Map<string, string> {
  const out = bareGit(bare, 'ls-tree', '-r', '-z', '--full-tree', rev);
  const map = new Map<string, string>();
  for (const rec of out.split('\0').filter(Boolean)) {
    const tab = rec.indexOf('\t');
    const [mode, , oid] = rec.slice(0, tab).split(' ');
    map.set(rec.slice(tab + 1), `${mode} ${oid}`);
  }
  return map;
}

const head = (bare: string) => bareGit(bare, 'rev-parse', 'refs/heads/main');
const show = (bare: string, rev: string, path: string) => bareGit(bare, 'show', `${rev}:${path}`);

/** Checks with git that `after` is one commit on `before` that only adds `paths`, and that its message counts them. */
function expectOneAddingCommit(bare: string, before: string, after: string, paths: string[], from: string): void {
  expect(bareGit(bare, 'rev-list', '--count', `${before}..${after}`)).toBe('1');
  expect(bareGit(bare, 'rev-parse', `${after}^`)).toBe(before);
  const status = bareGit(bare, 'diff-tree', '-r', '--no-renames', '--name-status', before, after).split('\n').filter(Boolean);
  expect(status.every((l) => l.startsWith('A\t'))).toBe(true);
  expect(status.map((l) => l.slice(2)).sort()).toEqual([...paths].sort());
  expect(bareGit(bare, 'log', '-1', '--format=%s', after)).toBe(`sync: +${status.length} files from ${from}`);
  expect(bareGit(bare, 'log', '-1', '--format=%an <%ae>', after)).toBe(`${DEFAULT_IDENTITY.name} <${DEFAULT_IDENTITY.email}>`);
  // Nothing overwritten, nothing deleted: every entry of before is in after, same mode and bytes.
  const old = treeOf(bare, before);
  const now = treeOf(bare, after);
  for (const [path, entry] of old) expect(now.get(path), path).toBe(entry);
}


async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const MANIFEST = '{"generated_at":"2026-03-15T20:23:02.057Z"}\n';

describe('syncRepositories between two bare repositories', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    tmp = await tempDir('sync');
  });
  afterAll(async () => {
    await tmp.remove();
  });

  it('copies what each side lacks under data/, both ways, one commit per side with the true count; a second run does nothing', async () => {
    const root = join(tmp.path, 'both-ways');
    const primary = await makeRemote(root, 'primary', {
      'data/api/manifest.json': MANIFEST,
      'data/api/ase/latest.json': '{"median_price":35.1}\n',
      'data/hourly/2026/03/14/15.json': '[{"spot":5018.96,"metal":"Gold","timestamp":"2026-03-14 15:00:00"}]\n',
      'data/differ.json': 'primary bytes\n',
      'data/conflict': 'a file on the primary\n',
      'data/link.json': { link: 'api/manifest.json' },
      'docs/notes.md': 'outside data on the primary\n',
    });
    const fallback = await makeRemote(root, 'fallback', {
      'data/api/manifest.json': MANIFEST,
      'data/api/age/latest.json': '{"median_price":2950}\n',
      'data/api/age/history-30d.json': '[]\n',
      'data/15min/2026/03/14/1500.json': '[{"spot":33.1,"metal":"Silver","timestamp":"2026-03-14 15:00:00"}]\n',
      'data/differ.json': 'fallback bytes\n',
      'data/conflict/inner.json': '{}\n',
      'README.md': 'outside data on the fallback\n',
    });
    const before = { primary: head(primary), fallback: head(fallback) };
    const { lines, logger } = captureLogger();
    const options = {
      primary: { name: 'StakTrakrApi', url: primary },
      fallback: { name: 'api-fallback', url: fallback },
      workDir: join(root, 'work'),
      logger,
    };

    const result = await syncRepositories(options);

    const toPrimary = ['data/15min/2026/03/14/1500.json', 'data/api/age/history-30d.json', 'data/api/age/latest.json'];
    const toFallback = ['data/api/ase/latest.json', 'data/hourly/2026/03/14/15.json'];
    expect(result.primaryAdded).toEqual(toPrimary);
    expect(result.fallbackAdded).toEqual(toFallback);
    expect(result.differing).toBe(1);
    expect(result.differingPaths).toEqual(['data/differ.json']);
    expect(result.skipped.map((s) => s.path)).toEqual(['data/conflict', 'data/conflict/inner.json', 'data/link.json']);
    expect(result.skipped.find((s) => s.path === 'data/conflict')!.reason).toMatch(/folder on the fallback.*conflict/);
    expect(result.commits).toEqual([
      { side: 'primary', name: 'StakTrakrApi', sha: head(primary), message: 'sync: +3 files from api-fallback' },
      { side: 'fallback', name: 'api-fallback', sha: head(fallback), message: 'sync: +2 files from StakTrakrApi' },
    ]);
    expect(result.heads).toEqual({ primary: head(primary), fallback: head(fallback) });

    // Checked with git, not with what the sync says.
    expectOneAddingCommit(primary, before.primary, head(primary), toPrimary, 'api-fallback');
    expectOneAddingCommit(fallback, before.fallback, head(fallback), toFallback, 'StakTrakrApi');
    for (const path of toPrimary) expect(show(primary, 'main', path)).toBe(show(fallback, before.fallback, path));
    for (const path of toFallback) expect(show(fallback, 'main', path)).toBe(show(primary, before.primary, path));
    // The differing file keeps each side's bytes; nothing outside data/ and no conflict or link crossed over.
    expect(show(primary, 'main', 'data/differ.json')).toBe('primary bytes');
    expect(show(fallback, 'main', 'data/differ.json')).toBe('fallback bytes');
    const primaryTree = treeOf(primary, 'main');
    const fallbackTree = treeOf(fallback, 'main');
    expect(primaryTree.has('README.md')).toBe(false);
    expect(fallbackTree.has('docs/notes.md')).toBe(false);
    expect(primaryTree.has('data/conflict/inner.json')).toBe(false);
    expect(fallbackTree.has('data/link.json')).toBe(false);
    expect(primaryTree.get('data/link.json')).toMatch(/^120000 /);
    // The union of the regular files under data/ on both sides, less the conflicts.
    const dataFiles = (t: Map<string, string>) => [...t].filter(([p, e]) => p.startsWith('data/') && e.startsWith('100')).map(([p]) => p);
    const union = new Set([...dataFiles(primaryTree), ...dataFiles(fallbackTree)]);
    expect(dataFiles(primaryTree).sort()).toEqual([...union].filter((p) => p !== 'data/conflict/inner.json').sort());
    expect(dataFiles(fallbackTree).sort()).toEqual([...union].filter((p) => p !== 'data/conflict').sort());
    expect(lines.some((l) => l.includes('sync done'))).toBe(true);

    const again = await syncRepositories(options);
    expect(again.commits).toEqual([]);
    expect(again.primaryAdded).toEqual([]);
    expect(again.fallbackAdded).toEqual([]);
    expect(again.differing).toBe(1);
    expect(bareGit(primary, 'rev-list', '--count', 'main')).toBe('2');
    expect(bareGit(fallback, 'rev-list', '--count', 'main')).toBe('2');
    expect(again.heads).toEqual(result.heads);
  });

  it('a commit pushed to a side between its read and the push is kept: the sync reads again and counts what is still lacking', async () => {
    const root = join(tmp.path, 'race');
    const primary = await makeRemote(root, 'primary', { 'data/a.json': 'a\n' });
    const fallback = await makeRemote(root, 'fallback', { 'data/b.json': 'b\n', 'data/c.json': 'c\n' });
    // Someone else's commit, ready in a clone: it brings b.json (the fallback's bytes) and a file of its own.
    const other = await commitTo(primary, { 'data/b.json': 'b\n', 'data/own.json': 'own\n' }, 'someone else', false);
    const marker = join(root, 'race-once');
    await writeFile(marker, '');
    // The primary's pre-receive hook lands that commit first, once: the sync's push then finds main moved.
    const hook = join(primary, 'hooks', 'pre-receive');
    await writeFile(
      hook,
      [
        '#!/bin/sh',
        'cat >/dev/null',
        `if [ -f '${marker}' ]; then`,
        `  rm -f '${marker}'`,
        `  env -i PATH="$PATH" HOME='${root}' git -C '${other}' push --quiet origin HEAD:main >/dev/null 2>&1 || exit 1`,
        'fi',
        'exit 0',
        '',
      ].join('\n'),
    );
    await chmod(hook, 0o755);
    const before = { primary: head(primary), fallback: head(fallback) };
    const concurrent = git(['rev-parse', 'HEAD'], other);
    const { lines, logger } = captureLogger();

    const result = await syncRepositories({
      primary: { name: 'one', url: primary },
      fallback: { name: 'two', url: fallback },
      workDir: join(root, 'work'),
      logger,
    });

    expect(await readdir(root)).not.toContain('race-once'); // the hook did fire
    expect(bareGit(primary, 'rev-parse', 'main^')).toBe(concurrent);
    expect(bareGit(primary, 'rev-parse', 'main^^')).toBe(before.primary);
    expect(result.primaryAdded).toEqual(['data/c.json']);
    expectOneAddingCommit(primary, concurrent, head(primary), ['data/c.json'], 'two');
    expect(show(primary, 'main', 'data/own.json')).toBe('own');
    // The fallback was completed from the primary as first read: a.json, not the commit that came later.
    expect(result.fallbackAdded).toEqual(['data/a.json']);
    expectOneAddingCommit(fallback, before.fallback, head(fallback), ['data/a.json'], 'one');
    expect(result.commits.map((c) => c.message)).toEqual(['sync: +1 files from two', 'sync: +1 files from one']);
    expect(lines.some((l) => l.includes('branch moved while syncing'))).toBe(true);
  });

  it('gives up after maxPushAttempts when the branch moves every time, naming the side', async () => {
    const root = join(tmp.path, 'always-moving');
    const primary = await makeRemote(root, 'primary', { 'data/a.json': 'a\n' });
    const fallback = await makeRemote(root, 'fallback', { 'data/b.json': 'b\n' });
    const clone = await commitTo(primary, { 'data/noise-0.json': '0\n' }, 'noise', true);
    // Every push to the primary is overtaken by another commit of someone else.
    const hook = join(primary, 'hooks', 'pre-receive');
    await writeFile(
      hook,
      [
        '#!/bin/sh',
        'cat >/dev/null',
        '[ -n "$SYNC_TEST_NESTED" ] && exit 0', // the push below must not overtake itself
        `cd '${clone}' && env -i PATH="$PATH" HOME='${root}' SYNC_TEST_NESTED=1 sh -c 'date +%s%N > data/noise.json && git add -A && git -c user.name=n -c user.email=n@x commit -q -m noise && git push -q origin HEAD:main' >/dev/null 2>&1`,
        'exit 0',
        '',
      ].join('\n'),
    );
    await chmod(hook, 0o755);
    const before = head(fallback);

    const error = await syncRepositories({
      primary: { name: 'one', url: primary },
      fallback: { name: 'two', url: fallback },
      workDir: join(root, 'work'),
      maxPushAttempts: 2,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).side).toBe('primary');
    expect((error as Error).message).toMatch(/main of the primary "one" \(.*primary\.git\) moved during each of 2 push attempts/);
    expect((error as Error).message).toMatch(/run the sync again later/);
    expect(head(fallback)).toBe(before); // the primary comes first: nothing was pushed to the fallback
  });

  it('an unreachable side fails with a clear error and the other side is left unchanged', async () => {
    const root = join(tmp.path, 'unreachable');
    const primary = await makeRemote(root, 'primary', { 'data/a.json': 'a\n' });
    const before = head(primary);
    const url = `http://127.0.0.1:${await closedPort()}/fallback.git`;

    const error = await syncRepositories({
      primary: { name: 'one', url: primary },
      fallback: { name: 'two', url, token: 'ghs_UnreachableToken0123456789' },
      workDir: join(root, 'work'),
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SyncError);
    const e = error as SyncError;
    expect(e.side).toBe('fallback');
    expect(e.remote).toBe(url);
    expect(e.message).toContain(`could not read main of the fallback "two" (${url})`);
    expect(e.message).toContain('Nothing was pushed to either side');
    expect(e.message).toContain('Check that the remote is reachable');
    expect(e.message).not.toContain('ghs_UnreachableToken0123456789');
    expect(head(primary)).toBe(before);
    expect(bareGit(primary, 'rev-list', '--count', 'main')).toBe('1');
  });

  it('a side without the branch is an error, unless createMissingBranch, which creates it with the copied files only', async () => {
    const root = join(tmp.path, 'missing-branch');
    const primary = await makeRemote(root, 'primary', { 'data/a.json': 'a\n', 'data/api/manifest.json': MANIFEST, 'docs/x.md': 'x\n' });
    const fallback = await makeRemote(root, 'fallback', null);
    const before = head(primary);
    const options = { primary: { name: 'one', url: primary }, fallback: { name: 'two', url: fallback }, workDir: join(root, 'work') };

    const error = await syncRepositories(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect((error as Error).message).toContain(`the fallback "two" (${fallback}) has no branch main`);
    expect((error as Error).message).toContain('createMissingBranch: true');
    expect(bareGit(fallback, 'for-each-ref', 'refs/heads')).toBe('');
    expect(head(primary)).toBe(before);

    const result = await syncRepositories({ ...options, createMissingBranch: true });
    expect(result.fallbackAdded).toEqual(['data/a.json', 'data/api/manifest.json']);
    expect(result.primaryAdded).toEqual([]);
    expect(result.commits).toEqual([{ side: 'fallback', name: 'two', sha: head(fallback), message: 'sync: +2 files from one' }]);
    expect(bareGit(fallback, 'rev-list', '--count', 'main')).toBe('1');
    expect([...treeOf(fallback, 'main').keys()].sort()).toEqual(['data/a.json', 'data/api/manifest.json']);
    expect(head(primary)).toBe(before);
  });

  it('refuses bad options before touching anything', async () => {
    const base = { workDir: join(tmp.path, 'bad-options') };
    await expect(syncRepositories({ ...base, primary: { name: 'a', url: '/x' }, fallback: { name: 'a', url: '/y' } })).rejects.toThrow(SyncConfigError);
    await expect(syncRepositories({ ...base, primary: { name: 'a', url: '/x' }, fallback: { name: 'b', url: '/y' }, root: '/' })).rejects.toThrow(/root "\/" is an empty path/);
    await expect(syncRepositories({ ...base, primary: { name: 'a', url: '/x' }, fallback: { name: 'b', url: '/y' }, branch: '--delete' })).rejects.toThrow(/not a valid branch name/);
    await expect(
      syncRepositories({ ...base, primary: { name: 'a', url: 'https://user:hunter2secret@example.invalid/r.git' }, fallback: { name: 'b', url: '/y' } }),
    ).rejects.toThrow(/primary "a".*carries credentials/);
  });

  describe('with the fallback served over HTTP behind a token', () => {
    const TOKEN = 'ghs_SyncToken0123456789abcdefSECRET';
    const WRONG = 'ghs_WrongSyncToken9876543210zyxw';
    const header = (t: string) => Buffer.from(`x-access-token:${t}`).toString('base64');
    let server: GitHttpServer;
    let root: string;
    let primary: string;
    let fallbackBare: string;

    beforeAll(async () => {
      root = join(tmp.path, 'http');
      primary = await makeRemote(root, 'primary', { 'data/a.json': 'a\n' });
      const served = join(root, 'srv');
      await mkdir(served, { recursive: true });
      fallbackBare = await makeRemote(served, 'fallback', { 'data/b.json': 'b\n' });
      bareGit(fallbackBare, 'config', 'http.receivepack', 'true');
      server = await startGitHttpServer({ projectRoot: served, token: TOKEN });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('syncs with the token, which never reaches the cache config, its objects, the logs or the result', async () => {
      const workDir = join(root, 'work');
      const { lines, logger } = captureLogger();
      const url = `${server.url}/fallback.git`;
      const result: SyncRepositoriesResult = await syncRepositories({
        primary: { name: 'one', url: primary },
        fallback: { name: 'two', url, token: TOKEN },
        workDir,
        logger,
      });
      expect(result.primaryAdded).toEqual(['data/b.json']);
      expect(result.fallbackAdded).toEqual(['data/a.json']);
      expect(show(fallbackBare, 'main', 'data/a.json')).toBe('a');
      expect(bareGit(fallbackBare, 'log', '-1', '--format=%s', 'main')).toBe('sync: +1 files from one');
      expect(server.requests.length).toBeGreaterThan(0);
      expect(server.requests.every((r) => r.authorization === `Basic ${header(TOKEN)}`)).toBe(true);

      const config = await readFile(join(workDir, 'cache.git', 'config'), 'utf8');
      const objects = bareGit(join(workDir, 'cache.git'), 'cat-file', '--batch-all-objects', '--batch');
      const everything = [config, objects, lines.join(''), JSON.stringify(result)];
      for (const text of everything) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(header(TOKEN));
      }
      expect(config).not.toMatch(/extraheader|url =/i);
    });

    it('a refused token is said without the token, naming the side and remote; the primary is unchanged', async () => {
      await commitTo(primary, { 'data/new.json': 'new\n' }, 'more');
      const before = head(primary);
      const url = `${server.url}/fallback.git`;
      const { lines, logger } = captureLogger();
      const error = await syncRepositories({
        primary: { name: 'one', url: primary },
        fallback: { name: 'two', url, token: WRONG },
        workDir: join(root, 'work'),
        logger,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SyncError);
      const message = (error as Error).message;
      expect(message).toContain(`the fallback "two" (${url})`);
      expect(message).toContain('token may read');
      for (const text of [message, lines.join(''), (error as Error).stack ?? '']) {
        expect(text).not.toContain(WRONG);
        expect(text).not.toContain(header(WRONG));
      }
      expect(head(primary)).toBe(before);
    });
  });
});
