import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createClient, type Client } from '@libsql/client';
import { pino } from 'pino';
import { loadCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { generateHistory } from '../src/bench/history.js';
import { checkPublishedText } from '../src/contract/index.js';
import { publishPollerBranch } from '../src/export/publish-branch.js';
import { publishMain, SNAPSHOT_PATH } from '../src/merge/publish-main.js';
import { ensureLocalRemote, publishTree } from '../src/publish/index.js';
import { startGitHttpServer, type GitHttpServer } from './support/git-http-server.js';
import { tempDir } from './support/temp.js';

const git = (gitDir: string, ...args: string[]) => execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
const NOW = new Date('2026-11-23T12:07:00Z');

function captureLogger(lines: string[]) {
  return pino({ level: 'debug' }, new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }));
}

describe('publishing: database rows to poller branches to main', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let client: Client;
  let catalogue: Catalogue;
  beforeAll(async () => {
    tmp = await tempDir('publish-pipeline');
    catalogue = await loadCatalogue('config/providers.json');
    client = createClient({ url: `file:${join(tmp.path, 'prices.db')}` });
    const targets = catalogue.targets.filter((t) => ['ase', 'age', 'ape'].includes(t.coin));
    await generateHistory(client, { days: 2, targets, pollers: ['api1', 'api2', 'api3'], now: NOW });
  });
  afterAll(async () => {
    client?.close();
    await tmp.remove();
  });

  it('publishes each poller branch, unions them into main, skips an invalid branch, and commits nothing when nothing changed', async () => {
    const remote = join(tmp.path, 'remote.git');
    expect(await ensureLocalRemote(remote)).toBe(true);
    expect(await ensureLocalRemote(remote)).toBe(false);
    const lines: string[] = [];
    const logger = captureLogger(lines);
    const steps: Array<[number, string]> = [];
    const progress = (percent: number, phase: string) => void steps.push([percent, phase]);
    for (const pollerId of ['api1', 'api2']) {
      const r = await publishPollerBranch({ client, catalogue, pollerId, remoteUrl: remote, workDir: join(tmp.path, 'publish', pollerId), logger, now: NOW, progress });
      expect(r.committed).toBe(true);
      expect(git(remote, 'log', '-1', '--format=%s', pollerId)).toBe(`${pollerId}: 2026-11-23 12:07 export`);
    }
    // api3's branch holds broken JSON: it must never reach main.
    const bad = join(tmp.path, 'bad-tree');
    await mkdir(join(bad, 'data', 'api', 'ase'), { recursive: true });
    await writeFile(join(bad, 'data', 'api', 'manifest.json'), '{"generated_at": ');
    await writeFile(join(bad, 'data', 'api', 'ase', 'latest.json'), '{"median_price": "cheap"}');
    await publishTree({ remoteUrl: remote, branch: 'api3', treeDir: bad, message: 'api3: broken', workDir: join(tmp.path, 'bad-git') });

    // Long jobs say how far they are (Bull Board shows the percentage, the job log the phase).
    expect(steps.map(([p]) => p)).toEqual([10, 60, 10, 60]);
    expect(steps[1][1]).toMatch(/^tree written \(\d+ of \d+ files changed\); committing and pushing branch api1$/);
    steps.length = 0;
    const merged = await publishMain({ remoteUrl: remote, branches: ['api1', 'api2', 'api3'], workDir: join(tmp.path, 'merge'), client, logger, now: () => NOW, progress });
    expect(merged).toMatchObject({ committed: true, used: ['api1', 'api2'], snapshot: 'fresh' });
    expect(steps).toEqual([[10, 'fetching api1, api2, api3, main'], [40, 'merged api1+api2'], [70, 'pushing main (snapshot fresh)']]);
    expect(merged.skipped.map((s) => s.branch)).toEqual(['api3']);
    expect(git(remote, 'log', '--format=%s', 'main')).toBe('merge: api1+api2 @ 12:07');
    expect(lines.join('')).toMatch(/branch skipped by the merge/);

    // main: every JSON file passes the contract; each coin carries the union of both branches' vendors.
    const files = git(remote, 'ls-tree', '-r', '--name-only', 'main').split('\n');
    expect(files).toContain(SNAPSHOT_PATH);
    expect(merged.snapshotBytes).toBe(Number(git(remote, 'cat-file', '-s', `main:${SNAPSHOT_PATH}`)));
    for (const f of files.filter((x) => x.endsWith('.json'))) checkPublishedText(f.replace(/^data\//, ''), git(remote, 'show', `main:${f}`));
    const ase = JSON.parse(git(remote, 'show', 'main:data/api/ase/latest.json'));
    const api1 = JSON.parse(git(remote, 'show', 'api1:data/api/ase/latest.json'));
    const api2 = JSON.parse(git(remote, 'show', 'api2:data/api/ase/latest.json'));
    expect(Object.keys(ase.vendors).sort()).toEqual([...new Set([...Object.keys(api1.vendors), ...Object.keys(api2.vendors)])].sort());
    expect(ase.window_start >= api1.window_start && ase.window_start >= api2.window_start).toBe(true);

    // Nothing new: no commit on the branches, none on main; the snapshot is kept, not rewritten.
    const again = await publishPollerBranch({ client, catalogue, pollerId: 'api1', remoteUrl: remote, workDir: join(tmp.path, 'publish', 'api1'), logger, now: NOW });
    expect(again.committed).toBe(false);
    const merged2 = await publishMain({ remoteUrl: remote, branches: ['api1', 'api2', 'api3'], workDir: join(tmp.path, 'merge'), client, logger, now: () => NOW });
    expect(merged2).toMatchObject({ committed: false, snapshot: 'kept' });
    expect(git(remote, 'rev-list', '--count', 'main')).toBe('1');
  });

  it('a poller with no rows publishes nothing, and a branch that lost a coin never empties it on main', async () => {
    const remote = join(tmp.path, 'guard.git');
    await ensureLocalRemote(remote);
    const lines: string[] = [];
    const logger = captureLogger(lines);
    // api4 has no row at all: no branch, no commit, a log line.
    const empty = await publishPollerBranch({ client, catalogue, pollerId: 'api4', remoteUrl: remote, workDir: join(tmp.path, 'guard', 'api4'), logger, now: NOW });
    expect(empty).toMatchObject({ committed: false, sha: null, skipped: 'no rows yet' });
    expect(git(remote, 'for-each-ref', '--format=%(refname)')).toBe('');
    expect(lines.join('')).toMatch(/no rows yet: nothing to publish/);
    // A merge of nothing but empty branches makes no main.
    expect(await publishMain({ remoteUrl: remote, branches: ['api4'], workDir: join(tmp.path, 'guard', 'merge'), client, logger, now: () => NOW })).toMatchObject({ committed: false, used: [] });

    // main learns ase from api1; then api1's branch is rewritten without ase (a poller that lost it, or a stale tree).
    await publishPollerBranch({ client, catalogue, pollerId: 'api1', remoteUrl: remote, workDir: join(tmp.path, 'guard', 'api1'), logger, now: NOW });
    const first = await publishMain({ remoteUrl: remote, branches: ['api1'], workDir: join(tmp.path, 'guard', 'merge'), client, snapshotEveryMs: 0, logger, now: () => NOW });
    expect(first.committed).toBe(true);
    const aseOnMain = JSON.parse(git(remote, 'show', 'main:data/api/ase/latest.json'));
    expect(Object.keys(aseOnMain.vendors).length).toBeGreaterThan(0);
    const stripped = join(tmp.path, 'guard', 'stripped');
    for (const path of git(remote, 'ls-tree', '-r', '--name-only', 'api1').split('\n').filter((f) => !f.startsWith('data/api/ase/'))) {
      await mkdir(join(stripped, path, '..'), { recursive: true });
      await writeFile(join(stripped, path), git(remote, 'show', `api1:${path}`));
    }
    await publishTree({ remoteUrl: remote, branch: 'api1', treeDir: stripped, message: 'api1: without ase', workDir: join(tmp.path, 'guard', 'stripped-git') });
    await publishMain({ remoteUrl: remote, branches: ['api1'], workDir: join(tmp.path, 'guard', 'merge'), client, snapshotEveryMs: 0, logger, now: () => NOW });
    const after = JSON.parse(git(remote, 'show', 'main:data/api/ase/latest.json'));
    expect(after.vendors).toEqual(aseOnMain.vendors);
    expect(git(remote, 'log', '-1', '--format=%s', 'main')).toMatch(/^merge: api1 @ /);
  });

  it('two mergers at once never overwrite each other: main stays linear, every commit a full merge', async () => {
    const remote = join(tmp.path, 'race.git');
    await ensureLocalRemote(remote);
    for (const pollerId of ['api1', 'api2', 'api3']) {
      await publishPollerBranch({ client, catalogue, pollerId, remoteUrl: remote, workDir: join(tmp.path, 'race', pollerId), now: NOW });
    }
    const run = (name: string, at: string) =>
      publishMain({ remoteUrl: remote, branches: ['api1', 'api2', 'api3'], workDir: join(tmp.path, 'race', name), client, snapshotEveryMs: 0, now: () => new Date(at) });
    const [a, b] = await Promise.all([run('m1', '2026-11-23T12:08:00Z'), run('m2', '2026-11-23T12:09:00Z')]);
    expect([a, b].every((r) => r.used.length === 3)).toBe(true);
    // Same content from both: the second finds main already right and makes no commit, or commits on top of the first.
    const log = git(remote, 'log', '--format=%s', 'main').split('\n');
    expect(log.length).toBeGreaterThanOrEqual(1);
    expect(log.every((m) => /^merge: api1\+api2\+api3 @ 12:0[89]$/.test(m))).toBe(true);
    expect(git(remote, 'rev-list', '--count', 'main')).toBe(String(log.length));
  });

  describe('over HTTP with a token', () => {
    const TOKEN = 'ghs_PipelineToken0123456789SECRET';
    let server: GitHttpServer;
    beforeAll(async () => {
      const root = join(tmp.path, 'srv');
      const bare = join(root, 'api.git');
      await mkdir(root, { recursive: true });
      execFileSync('git', ['init', '--bare', '--quiet', '--initial-branch=main', bare]);
      git(bare, 'config', 'http.receivepack', 'true');
      server = await startGitHttpServer({ projectRoot: root, token: TOKEN });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('the token appears nowhere: not in git config, not in any local file, not in the logs, not in what was pushed', async () => {
      const remoteUrl = `${server.url}/api.git`;
      const lines: string[] = [];
      const logger = captureLogger(lines);
      const work = join(tmp.path, 'http-work');
      await publishPollerBranch({ client, catalogue, pollerId: 'api1', remoteUrl, token: TOKEN, workDir: join(work, 'api1'), logger, now: NOW });
      const merged = await publishMain({ remoteUrl, token: TOKEN, branches: ['api1'], workDir: join(work, 'merge'), client, logger, now: () => NOW });
      expect(merged).toMatchObject({ committed: true, used: ['api1'] });
      const bare = join(tmp.path, 'srv', 'api.git');
      expect(git(bare, 'cat-file', '--batch-all-objects', '--batch')).not.toContain(TOKEN);
      for (const entry of await readdir(work, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const bytes = await readFile(join(entry.parentPath, entry.name));
        expect(bytes.includes(TOKEN), join(entry.parentPath, entry.name)).toBe(false);
      }
      expect(lines.join('')).not.toContain(TOKEN);
      const failed = await publishMain({ remoteUrl, token: 'ghs_wrong_token_value', branches: ['api1'], workDir: join(work, 'merge2'), client, now: () => NOW }).catch((e: Error) => e);
      expect(failed).toBeInstanceOf(Error);
      expect(String((failed as Error).message)).not.toContain('ghs_wrong_token_value');
    });
  });
});
