/**
 * Fault 4: the publishing remote (git over HTTP with a GITHUB_TOKEN).
 * - The HTTP server gone for 20 s or more (connections refused) and back on the same address, api3 restarted during
 *   the outage: exports and merges fail and are retried (the restarted poller's too: it neither crashes nor publishes
 *   anywhere else), /healthz says degraded meanwhile, and the next publish carries everything scraped in the outage.
 * - Someone else force-pushes a foreign commit to api2: api2's next export replaces it, and main never gets the
 *   foreign content.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  POLLERS,
  fromCount,
  git,
  headOf,
  leakedSecrets,
  manifestAt,
  nextDue,
  readRows,
  newestScrape,
  recordResult,
  settleAndCount,
  sleep,
  startSystem,
  until,
  waitUntil,
  type System,
} from './harness.js';

const MARKER = `foreign-${Date.now().toString(36)}`;

describe('fault: the git remote', () => {
  let sys: System;
  let pushedAt = 0;
  let mainAtPush = '';
  beforeAll(async () => {
    sys = await startSystem({ label: 'git-remote' });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const published = (ref: string) => manifestAt(sys, ref)?.generated_at ?? '';

  it('the HTTP server gone 20 s and back, api3 restarted meanwhile: exports fail and are retried, /healthz degraded, nothing published elsewhere, the next publish carries everything', async ({ task }) => {
    const from = sys.readyAt;
    await waitUntil('main published', () => headOf(sys, 'main') !== null, 60_000);
    const downAt = Date.now();
    await sys.gate.close();
    const headsAtClose = [...POLLERS, 'main'].map((ref) => headOf(sys, ref));
    // A poller restarted while the remote is away must neither crash nor publish anywhere else (the system this
    // replaces created a new repository in its place); it says the remote is unreachable and retries.
    let restartedAt = 0;
    const restarted = (async () => {
      await sys.stopPoller('api3');
      await sys.startPoller('api3');
      restartedAt = Date.now();
    })();
    const seen = new Map<string, string>();
    while (Date.now() < downAt + 20_000 || !restartedAt) {
      for (const id of POLLERS) {
        const h = await sys.health(id).catch(() => null);
        if (h && h.status !== 'ok') seen.set(id, `${h.status}: ${h.problems.join('; ')}`);
      }
      await sleep(1000);
    }
    await restarted;
    // The restarted poller's first export must fail too before the remote comes back.
    await waitUntil("the restarted api3's first export failing", () => /export\.api3 failed|publish attempt failed; retrying/.test(sys.hosts.api3.proc!.output()), 45_000, 250);
    expect([...POLLERS, 'main'].map((ref) => headOf(sys, ref)), 'nothing published while the remote was away').toEqual(headsAtClose);
    // The failure records outlive the outage until the next success: one more look as it ends.
    for (const id of POLLERS) {
      const h = await sys.health(id).catch(() => null);
      if (h && h.status !== 'ok') seen.set(id, `${h.status}: ${h.problems.join('; ')}`);
    }
    // Rows kept flowing into the database meanwhile; what exists now must reach the branches and main.
    const rowsAtReturn = await readRows(sys);
    const newest = Object.fromEntries(POLLERS.map((id) => [id, newestScrape(rowsAtReturn, id)!]));
    const newestAll = newestScrape(rowsAtReturn)!;
    const mainBefore = published('main');
    await sys.gate.open();
    const back = Date.now();
    const recovered = await waitUntil(
      'every branch and main carrying the rows scraped in the outage, and /healthz ok everywhere',
      async () => {
        if (!POLLERS.every((id) => published(id) >= newest[id])) return false;
        if (published('main') < newestAll) return false;
        for (const id of POLLERS) if ((await sys.health(id)).status !== 'ok') return false;
        return true;
      },
      90_000,
      500,
    );
    const recovery = (recovered - back) / 1000;
    const count = await settleAndCount(sys, { from, to: Date.now() - 5000, pollers: POLLERS });
    recordResult(task, fromCount(`git remote gone ${Math.round((back - downAt) / 1000)} s (HTTP server down), api3 restarted meanwhile`, count, recovery, 45, 'pass', `degraded meanwhile: ${[...seen.keys()].join(', ') || 'none'}; api3 back up ${Math.round((restartedAt - downAt) / 1000)} s into the outage`));
    // Nothing was published while the remote was away, and the pollers said so.
    expect(mainBefore < newestAll).toBe(true);
    expect([...seen.values()].some((v) => /^degraded: .*(export|merge) of api\d failed/.test(v)), [...seen.values()].join('\n')).toBe(true);
    expect(sys.allOutput()).toMatch(/publish attempt failed; retrying|export\.api\d failed|merge failed/);
    expect(count.lost).toBe(0);
    expect(count.duplicated).toBe(0);
    expect(recovery).toBeLessThanOrEqual(45);
    expect(leakedSecrets(sys.allOutput(), [sys.githubToken, sys.sqld.token!])).toEqual([]);
  });

  it("a foreign commit force-pushed to api2: the owner's next export replaces it", async ({ task }) => {
    const from = Date.now();
    // Just after one of api2's exports, so that its next export (its next runs) is some 30 s away.
    const { due } = nextDue(sys, 'api2', Date.now(), 1000);
    await until(due);
    const before = headOf(sys, 'api2');
    await waitUntil("api2's export after its runs", () => headOf(sys, 'api2') !== before, 30_000, 100);
    // Someone else's commit: api2's tree plus a file of theirs, over HTTP with a token that may push.
    const work = join(sys.dir, 'someone-else');
    execFileSync('git', ['clone', '--quiet', '--branch', 'api2', sys.bare, work]);
    mkdirSync(join(work, 'data', 'api'), { recursive: true });
    writeFileSync(join(work, 'data', 'api', 'notes.json'), `${JSON.stringify({ note: MARKER })}\n`);
    writeFileSync(join(work, `${MARKER}.md`), `# ${MARKER}\n`);
    const auth = `Authorization: Basic ${Buffer.from(`someone:${sys.githubToken}`).toString('base64')}`;
    // Asynchronously: the git HTTP server (and the fleet) answer from this process's event loop.
    const run = (...args: string[]) => promisify(execFile)('git', ['-C', work, '-c', 'user.name=Someone Else', '-c', 'user.email=else@example.invalid', ...args]);
    await run('add', '-A');
    await run('commit', '--quiet', '-m', 'someone else was here');
    mainAtPush = headOf(sys, 'main')!;
    await run('-c', `http.extraHeader=${auth}`, 'push', '--quiet', '--force', sys.remoteUrl, 'HEAD:api2');
    pushedAt = Date.now();
    const foreign = headOf(sys, 'api2')!;
    expect(git(sys.bare, 'log', '-1', '--format=%an', foreign)).toBe('Someone Else');

    const replaced = await waitUntil(
      "api2's own export in place of the foreign commit",
      () => {
        const head = headOf(sys, 'api2')!;
        return head !== foreign && /^api2: \d{4}-\d\d-\d\d \d\d:\d\d export$/.test(git(sys.bare, 'log', '-1', '--format=%s', head)) && !git(sys.bare, 'ls-tree', '-r', '--name-only', head).includes(MARKER) && !git(sys.bare, 'ls-tree', '-r', '--name-only', head).includes('notes.json');
      },
      90_000,
    );
    const recovery = (replaced - pushedAt) / 1000;
    const count = await settleAndCount(sys, { from, to: Date.now() - 5000, pollers: POLLERS });
    recordResult(task, fromCount('foreign force-push to api2: replaced by its owner', count, recovery, 75));
    expect(count.lost).toBe(0);
    expect(count.duplicated).toBe(0);
    // The owner's next export: its next runs (at most 30 s) or its safety net (at most a minute).
    expect(recovery).toBeLessThanOrEqual(75);
  });

  // Found by this suite and fixed: the merger passed a branch's files that are not price files through to main, so a
  // merge between a foreign push and the owner's export published the foreign file. Only contract feed files pass now.
  it('main never gets the foreign content, not even between the push and the owner\'s export', async ({ task }) => {
    expect(pushedAt, 'the force-push test ran first').toBeGreaterThan(0);
    // A merge after api2 was replaced, so that the whole stretch is on main.
    const replacedHead = headOf(sys, 'api2');
    const mainNow = headOf(sys, 'main');
    await waitUntil('a merge after the owner replaced api2', () => headOf(sys, 'main') !== mainNow, 60_000);
    const commits = git(sys.bare, 'rev-list', `${mainAtPush}..main`).split('\n').filter(Boolean);
    const tainted = commits.filter((c) => git(sys.bare, 'ls-tree', '-r', '--name-only', c).split('\n').some((p) => p.includes(MARKER) || p === 'data/api/notes.json'));
    const headClean = !git(sys.bare, 'ls-tree', '-r', '--name-only', 'main').includes(MARKER);
    recordResult(task, {
      fault: 'foreign force-push to api2: main never gets it',
      runs: 0,
      expected: 0,
      found: 0,
      lost: 0,
      duplicated: 0,
      recoverySeconds: null,
      boundSeconds: null,
      outcome: tainted.length ? 'finding' : 'pass',
      note: `${tainted.length} of ${commits.length} merges on main since the push carry the foreign files (data/api/notes.json${tainted.length ? `, first ${tainted.at(-1)!.slice(0, 8)}` : ''}); main's head ${headClean ? 'is clean again' : 'still carries them'} after api2 was replaced (${replacedHead?.slice(0, 8)})`,
    });
    expect(headClean).toBe(true);
    expect(tainted).toEqual([]);
  });
});
