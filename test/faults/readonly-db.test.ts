/**
 * Fault 7: the file database read-only. One poller (api1, `poller start`) on an embedded libSQL file
 * (TURSO_DATABASE_URL=file:...) that lives on a 64 MB tmpfs mounted here (root only; skipped with the reason otherwise).
 *
 * Linux refuses `mount -o remount,ro` while a process holds a file of the mount open for writing (EBUSY: the poller
 * keeps its database open read-write), so a running poller cannot see its volume turn read-only under it by an
 * operator's remount. The fault is therefore the host coming back with its database volume read-only (a failed fsck,
 * a volume attached read-only): api1 is stopped (SIGTERM), the tmpfs remounted read-only, api1 started again on it.
 * Its writes fail, the rows go to the recovery log, /healthz answers 503 `down` (log-only); then `mount -o
 * remount,rw` while it runs: the recovery log is replayed into the file, /healthz is 200 again, and every run due
 * since the system was up has exactly one row (counted from a fresh client).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countRuns, expectedSlots, fromCount, nextDue, readRows, recordResult, settleAndCount, sleep, startSystem, waitUntil, type System, loggedKeys, mountTmpfs } from './harness.js';

const FAULT = 'file database read-only (tmpfs ro, api1 restarted on it)';
const POLLER = 'api1';
/** From the remount rw to every run in the file and /healthz 200: the row sink probes at 2, 4, 8 s after the first failure, then every 15 s. */
const BOUND_S = 30;

function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
}

/** A JSON log line as its message and error. */
function said(line: string): string {
  try {
    const j = JSON.parse(line) as { msg?: string; err?: string };
    return `${j.msg}${j.err ? ` (${j.err})` : ''}`;
  } catch {
    return line;
  }
}

describe('fault: the file database read-only', () => {
  let sys: System | undefined;
  let mounted: string | undefined;
  let skip: string | undefined;
  beforeAll(async () => {
    const m = await mountTmpfs('db', '64m');
    if ('skip' in m) {
      skip = m.skip;
      return;
    }
    mounted = m.dir;
    // One poller: an embedded file has one writer host. Its merger unions its own branch only.
    sys = await startSystem({ label: 'readonly-db', pollers: [POLLER], fileDatabase: `file:${join(mounted, 'prices.db')}`, env: { PUBLISH_BRANCHES: POLLER } });
  });
  afterAll(async () => {
    try {
      await sys?.stop();
    } finally {
      if (mounted) {
        try {
          execFileSync('umount', [mounted], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', mounted], { stdio: 'pipe' });
        }
        rmSync(mounted, { recursive: true, force: true });
      }
    }
  });

  /** /healthz answers while api1 runs on the read-only volume: [ms since it started there, code, status]. */
  const samples: Array<{ at: number; code: number; status: string }> = [];
  /** When api1 (re)started on the read-only volume, its first failed write (from its log), the remount rw. */
  let runningAt = 0;
  let firstFailAt = 0;
  let rwAt = 0;

  it('writes fail, rows go to the recovery log, /healthz 503; back read-write: replayed, /healthz 200, none lost or duplicated', async (ctx) => {
    if (skip || !sys) {
      recordResult(ctx.task, { fault: FAULT, runs: 0, expected: 0, found: 0, lost: 0, duplicated: 0, recoverySeconds: null, boundSeconds: null, outcome: 'skipped', note: skip });
      ctx.skip(skip);
      return;
    }
    const s = sys;
    const dir = mounted!;
    const from = s.readyAt;
    const recoveryDir = s.hosts[POLLER].env.RECOVERY_LOG_DIR;
    // (No read of the file from here before the remount: a closed libSQL client keeps its file open until garbage
    // collection, and any file of the mount open for writing makes the remount EBUSY.)
    // The host goes down cleanly and comes back with its database volume read-only.
    const stopAt = Date.now();
    expect(await s.stopPoller(POLLER)).toBe(0);
    remount(dir, 'ro');
    const roAt = Date.now();
    expect(() => writeFileSync(join(dir, 'probe'), 'x'), 'the volume refuses writes').toThrow(/EROFS|read-only/);
    const proc = await s.startPoller(POLLER);
    runningAt = Date.now();
    // Read-only over one of api1's due times after the start, until its rows reached the recovery log.
    const { due } = nextDue(s, POLLER, Date.now(), 1000);
    // Runs due from the stop on run on the read-only volume (the late ones as soon as the worker is back).
    const during = { from: stopAt, to: due, pollers: [POLLER] as const };
    const slots = expectedSlots(s, during);
    expect(slots.length).toBeGreaterThanOrEqual(3);
    const sample = async () => {
      const h = await s.health(POLLER).catch(() => null);
      if (h) samples.push({ at: Date.now(), code: h.code, status: h.status });
    };
    let logged = new Set<string>();
    await waitUntil(
      "the read-only time's runs in the recovery log",
      async () => {
        await sample();
        logged = await loggedKeys(recoveryDir);
        return Date.now() > due && slots.every((x) => logged.has(x.key));
      },
      due - Date.now() + 20_000,
      1000,
    );
    while (Date.now() < due + 3000) {
      await sample();
      await sleep(500);
    }
    const rowsWhileRo = countRuns(s, during, await readRows(s));
    const output = proc.output();
    const failures = output.split('\n').filter((l) => /"level":[45]/.test(l) && /readonly|read-only|EROFS/i.test(l));
    firstFailAt = failures.length ? Date.parse((JSON.parse(failures[0]) as { time: string }).time) : 0;

    remount(dir, 'rw');
    rwAt = Date.now();
    const recovered = await waitUntil(
      'every run due before the remount in the file, and /healthz 200 ok',
      async () => {
        if (countRuns(s, { from, to: rwAt, pollers: [POLLER] }, await readRows(s)).lost > 0) return false;
        const h = await s.health(POLLER);
        return h.code === 200 && h.status === 'ok';
      },
      60_000,
      500,
    );
    const recovery = (recovered - rwAt) / 1000;
    // Through the next due time: the poller writes to the file again, not only replays.
    const count = await settleAndCount(s, { from, to: Math.max(recovered, nextDue(s, POLLER, rwAt, 1000).due), pollers: [POLLER] });

    const replayed = proc.output().split('\n').some((l) => /recovery log replayed/.test(l));
    const logOnly = samples.filter((x) => x.at > firstFailAt + 1000);
    const seen = (list: typeof samples) => [...new Set(list.map((x) => `${x.code} ${x.status}`))].sort().join(', ') || 'none';
    recordResult(
      ctx.task,
      fromCount(
        FAULT,
        count,
        recovery,
        BOUND_S,
        'pass',
        `read-only ${((rwAt - roAt) / 1000).toFixed(0)} s; /healthz once rows went to the recovery log: ${seen(logOnly)}; ` +
          `${failures.length} log lines name it, e.g. ${JSON.stringify(said(failures[0] ?? 'none').slice(0, 160))}`,
      ),
    );
    // Read-only: nothing reached the file, every run went to the recovery log, /healthz said down.
    expect(failures.length, `a warning naming the read-only database; api1 said:\n${output.split('\n').filter((l) => /"level":[45]/.test(l)).slice(-5).join('\n')}`).toBeGreaterThan(0);
    expect(rowsWhileRo.found, 'no row of the read-only time in the file').toBe(0);
    for (const x of slots) expect(logged.has(x.key), `${x.key} in the recovery log`).toBe(true);
    expect(logOnly.length).toBeGreaterThan(0);
    expect(seen(logOnly)).toBe('503 down');
    // Read-write again: replayed, nothing lost or twice.
    expect(replayed, 'the recovery log replayed').toBe(true);
    expect(count.missing).toEqual([]);
    expect(count.lost).toBe(0);
    expect(count.duplicated).toBe(0);
    expect(recovery).toBeLessThanOrEqual(BOUND_S);
  });

  // A poller started on a read-only database file says so from its first /healthz answer, not only after its first
  // write failed (up to a whole scrape interval later): its start check and /healthz's probe take the write lock.
  it('a poller started on a read-only database file says 503 on /healthz from its start, before its first due time', async (ctx) => {
    if (skip) {
      ctx.skip(skip);
      return;
    }
    const fromStart = samples.filter((x) => x.at >= runningAt && x.at < rwAt);
    const ok = fromStart.filter((x) => x.code === 200);
    const firstAfter = fromStart.length ? ((fromStart[0].at - runningAt) / 1000).toFixed(1) : '-';
    recordResult(ctx.task, {
      fault: 'read-only database: /healthz from the start',
      runs: 0,
      expected: 0,
      found: 0,
      lost: 0,
      duplicated: 0,
      recoverySeconds: null,
      boundSeconds: null,
      outcome: ok.length || !fromStart.length ? 'finding' : 'pass',
      note: `api1 started on the read-only volume: ${ok.length} of ${fromStart.length} /healthz answers were 200 (the first ${firstAfter} s after the start; its first failed write ${firstFailAt ? ((firstFailAt - runningAt) / 1000).toFixed(1) : '-'} s after it)`,
    });
    expect(fromStart.length, '/healthz sampled while read-only').toBeGreaterThan(0);
    expect(ok).toEqual([]);
  });
});
