import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, open, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import express from 'express';
import { dataRouter } from '../src/api/serve-data.js';
import { ServedBranch } from '../src/api/served-branch.js';
import { PublishConfigError } from '../src/publish/errors.js';
import { tempDir } from './support/temp.js';
import { captureLogger } from './support/logger.js';

const IDENTITY = ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid'];

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', [...IDENTITY, ...args], { cwd, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }).trim();
}

/** A clone that commits to the bare remote's `main`, the way the merger publishes. */
class Publisher {
  constructor(readonly work: string, readonly remote: string) {}
  static async create(root: string): Promise<Publisher> {
    const remote = join(root, 'remote.git');
    const work = join(root, 'publisher');
    execFileSync('git', ['init', '--bare', '--quiet', '-b', 'main', remote]);
    execFileSync('git', ['init', '--quiet', '-b', 'main', work]);
    return new Publisher(work, remote);
  }
  /** Writes the files (null removes one), commits and pushes; returns the commit. */
  async commit(files: Record<string, string | null>, message: string): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.work, path);
      if (content === null) await rm(full, { force: true });
      else {
        await mkdir(dirname(full), { recursive: true });
        await writeFile(full, content);
      }
    }
    git(this.work, 'add', '-A');
    git(this.work, 'commit', '--quiet', '--allow-empty', '-m', message);
    git(this.work, 'push', '--quiet', '--force', this.remote, 'HEAD:refs/heads/main');
    return git(this.work, 'rev-parse', 'HEAD');
  }
}


const manifest = (at: string) => JSON.stringify({ generated_at: at, coins: ['ase'] }) + '\n';

describe('ServedBranch against a real bare repository', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let pub: Publisher;
  let dir: string;
  let served: ServedBranch;
  let server: Server;
  let base: string;
  const log = captureLogger('info');
  const shas: string[] = [];

  beforeAll(async () => {
    tmp = await tempDir('served-branch');
    pub = await Publisher.create(tmp.path);
    dir = join(tmp.path, 'var', 'served', 'main');
    shas.push(
      await pub.commit(
        { 'data/api/manifest.json': manifest('2026-03-15T20:00:00Z'), 'data/api/ase/latest.json': '{"median_price":31.5}\n', 'data/hourly/2026/03/15/20.json': '[]\n', 'README.md': 'not served\n' },
        'main: first merge',
      ),
    );
    served = new ServedBranch({ remoteUrl: pub.remote, dir, logger: log.logger });
    const app = express();
    app.use('/data', dataRouter({ root: () => served.current() }));
    server = await new Promise<Server>((ok) => {
      const s = app.listen(0, '127.0.0.1', () => ok(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await served?.stop();
    server?.closeAllConnections();
    await new Promise((ok) => server?.close(ok));
    await tmp?.remove();
  });

  it('serves nothing (503) before its first round, then commit 1', async () => {
    expect(served.current()).toBeNull();
    expect(served.status()).toEqual({ sha: null, fetchedAt: null, lastError: null, lastErrorAt: null });
    expect((await fetch(`${base}/data/api/manifest.json`)).status).toBe(503);

    const status = await served.start();
    expect(status).toMatchObject({ sha: shas[0], lastError: null });
    expect(Date.parse(status.fetchedAt!)).toBeGreaterThan(0);
    expect(served.current()).toBe(join(dir, 'trees', shas[0], 'data'));
    expect(await readlink(join(dir, 'current'))).toBe(join('trees', shas[0]));
    expect(await readFile(join(served.current()!, 'api', 'manifest.json'), 'utf8')).toBe(manifest('2026-03-15T20:00:00Z'));
    expect(existsSync(join(dir, 'trees', shas[0], 'README.md'))).toBe(false); // only data/ is materialised
    const r = await fetch(`${base}/data/api/manifest.json?_t=1`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ generated_at: '2026-03-15T20:00:00Z', coins: ['ase'] });
  });

  it('switches to a new commit after refresh(), while a reader of the old folder keeps reading it', async () => {
    const oldRoot = served.current()!;
    const before = await fetch(`${base}/data/api/manifest.json`);
    const oldTag = before.headers.get('etag');
    // A reader in flight: it resolved the old folder and opened a file before the switch.
    const handle = await open(join(oldRoot, 'api', 'manifest.json'), 'r');
    shas.push(await pub.commit({ 'data/api/manifest.json': manifest('2026-03-15T20:05:00Z'), 'data/api/ase/history-30d.json': '[]\n' }, 'main: second merge'));
    const unchangedOld = await lstat(join(oldRoot, 'api', 'ase', 'latest.json'));

    const status = await served.refresh();
    expect(status).toMatchObject({ sha: shas[1], lastError: null });
    expect(served.current()).toBe(join(dir, 'trees', shas[1], 'data'));
    expect(await readlink(join(dir, 'current'))).toBe(join('trees', shas[1]));
    // The old reader: its open file and its folder are whole and unchanged.
    expect(await handle.readFile('utf8')).toBe(manifest('2026-03-15T20:00:00Z'));
    await handle.close();
    expect(await readFile(join(oldRoot, 'api', 'manifest.json'), 'utf8')).toBe(manifest('2026-03-15T20:00:00Z'));
    expect(existsSync(join(oldRoot, 'api', 'ase', 'history-30d.json'))).toBe(false);
    // New readers get the new commit, under another ETag; an unchanged file keeps its inode (and Last-Modified).
    const after = await fetch(`${base}/data/api/manifest.json`);
    expect(await after.json()).toMatchObject({ generated_at: '2026-03-15T20:05:00Z' });
    expect(after.headers.get('etag')).not.toBe(oldTag);
    expect((await fetch(`${base}/data/api/ase/history-30d.json`)).status).toBe(200);
    const unchangedNew = await lstat(join(served.current()!, 'api', 'ase', 'latest.json'));
    expect(unchangedNew.ino).toBe(unchangedOld.ino);
    expect(unchangedNew.mtimeMs).toBe(unchangedOld.mtimeMs);
  });

  it('keeps the two newest trees and removes older ones; a refresh without a new commit changes nothing', async () => {
    const idle = await served.refresh();
    expect(idle.sha).toBe(shas[1]);
    shas.push(await pub.commit({ 'data/api/manifest.json': manifest('2026-03-15T20:10:00Z'), 'data/api/ase/history-30d.json': null }, 'main: third merge'));
    await served.refresh();
    const trees = (await readdir(join(dir, 'trees'))).sort();
    expect(trees).toEqual([shas[1], shas[2]].sort());
    expect((await fetch(`${base}/data/api/ase/history-30d.json`)).status).toBe(404);
    expect((await readdir(dir)).filter((n) => n.startsWith('current.tmp') || n.startsWith('.index'))).toEqual([]);
  });

  it('keeps serving the last tree while the remote is gone, says why, and catches up when it is back', async () => {
    const gone = `${pub.remote}.gone`;
    await rename(pub.remote, gone);
    try {
      const status = await served.refresh();
      expect(status.sha).toBe(shas[2]);
      expect(status.lastError).toMatch(/remote\.git/);
      expect(Date.parse(status.lastErrorAt!)).toBeGreaterThan(0);
      const r = await fetch(`${base}/data/api/manifest.json`);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ generated_at: '2026-03-15T20:10:00Z' });
      await served.refresh(); // a second failure logs no second line
      expect(log.lines.filter((l) => l.includes('served branch not refreshed'))).toHaveLength(1);
    } finally {
      await rename(gone, pub.remote);
    }
    shas.push(await pub.commit({ 'data/api/manifest.json': manifest('2026-03-15T20:15:00Z') }, 'main: fourth merge'));
    const back = await served.refresh();
    expect(back).toMatchObject({ sha: shas[3], lastError: null });
    expect(back.lastErrorAt).not.toBeNull();
    expect(await (await fetch(`${base}/data/api/manifest.json`)).json()).toMatchObject({ generated_at: '2026-03-15T20:15:00Z' });
    expect(log.lines.some((l) => l.includes('served branch reachable again'))).toBe(true);
  });

  it('refuses a commit without data/ and keeps serving the one before', async () => {
    const bad = await pub.commit({ 'data/api/manifest.json': null, 'data/api/ase/latest.json': null, 'data/hourly/2026/03/15/20.json': null }, 'main: emptied');
    const status = await served.refresh();
    expect(status.sha).toBe(shas[3]);
    expect(status.lastError).toContain(`commit ${bad.slice(0, 12)} of main has no data/ folder`);
    expect((await fetch(`${base}/data/api/manifest.json`)).status).toBe(200);
    shas.push(await pub.commit({ 'data/api/manifest.json': manifest('2026-03-15T20:20:00Z'), 'data/api/ase/latest.json': '{"median_price":32}\n' }, 'main: restored'));
    expect((await served.refresh()).sha).toBe(shas[4]);
  });

  it('writes a link committed into the branch as a plain file, never as a link out of the tree', async () => {
    await symlink('/etc/passwd', join(pub.work, 'data', 'passwd.json'));
    shas.push(await pub.commit({}, 'main: a planted link'));
    await served.refresh();
    const info = await lstat(join(served.current()!, 'passwd.json'));
    expect(info.isSymbolicLink()).toBe(false);
    expect(await readFile(join(served.current()!, 'passwd.json'), 'utf8')).toBe('/etc/passwd');
  });

  it('after a restart with the remote down, serves the tree of the previous run', async () => {
    await served.stop();
    const gone = `${pub.remote}.gone`;
    await rename(pub.remote, gone);
    try {
      const again = new ServedBranch({ remoteUrl: pub.remote, dir });
      const status = await again.start();
      await again.stop();
      expect(status.sha).toBe(shas[5]);
      expect(status.lastError).not.toBeNull();
      expect(again.current()).toBe(join(dir, 'trees', shas[5], 'data'));
    } finally {
      await rename(gone, pub.remote);
    }
  });
});

describe('ServedBranch configuration and secrets', () => {
  it('refuses bad options with a message that says what to give', () => {
    expect(() => new ServedBranch({ remoteUrl: '', dir: '/tmp/x' })).toThrow(PublishConfigError);
    expect(() => new ServedBranch({ remoteUrl: 'https://u:p@github.com/o/r.git', dir: '/tmp/x' })).toThrow(/GITHUB_TOKEN/);
    expect(() => new ServedBranch({ remoteUrl: '/tmp/r.git', dir: '/tmp/x', branch: '--upload-pack=x' })).toThrow(/branch/);
    expect(() => new ServedBranch({ remoteUrl: '/tmp/r.git', dir: '/tmp/x', root: '../etc' })).toThrow(/root/);
    expect(() => new ServedBranch({ remoteUrl: '/tmp/r.git', dir: '/tmp/x', keep: 0 })).toThrow(/keep/);
    expect(() => new ServedBranch({ remoteUrl: '/tmp/r.git', dir: '' })).toThrow(/dir/);
  });

  it('never writes the token into its folder, its status or its log', async () => {
    const tmp = await tempDir('served-token');
    const token = 'ghp_servedBranchSecret0123456789';
    const { logger, lines } = captureLogger('info');
    try {
      // Nothing listens on port 9: the fetch fails fast, with the token configured for the request.
      const served = new ServedBranch({ remoteUrl: 'http://127.0.0.1:9/owner/api.git', token, dir: join(tmp.path, 'served'), logger });
      const status = await served.refresh();
      expect(status.sha).toBeNull();
      expect(status.lastError).toMatch(/127\.0\.0\.1:9/);
      expect(JSON.stringify(status)).not.toContain(token);
      expect(lines.join('')).not.toContain(token);
      expect(lines.join('')).not.toContain(Buffer.from(`x-access-token:${token}`).toString('base64'));
      const config = await readFile(join(tmp.path, 'served', 'cache.git', 'config'), 'utf8');
      expect(config).not.toContain(token);
      // grep exits 1 when no file holds the token (0: found, 2: error).
      expect(spawnSync('grep', ['-rlF', token, tmp.path]).status).toBe(1);
    } finally {
      await tmp.remove();
    }
  });
});
