/**
 * Fault 6: the export folder full. api3's PUBLISH_DIR is a 16 MB tmpfs (root only: `mount -t tmpfs -o size=16m`;
 * skipped with the reason otherwise). Once the system publishes, a file fills the tmpfs over one of api3's due times:
 * its exports (and its merger, whose clone lives there too) fail with a clear error, nothing half-written reaches
 * the remote (every commit on api3 and main passes the published contract), and once the space is back api3's next
 * export carries its rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseBranch } from '../../src/merge/parse-branch.js';
import {
  POLLERS,
  fromCount,
  git,
  headOf,
  manifestAt,
  nextDue,
  readRows,
  newestScrape,
  recordResult,
  settleAndCount,
  startSystem,
  until,
  waitUntil,
  type System,
  mountTmpfs,
} from './harness.js';

// Its export tree, merge clone and served copy of main take about 2 MB by the evening (the day's spot files grow), so
// the folder is several times that: full only when the test fills it.
const FAULT = 'export folder full (16 MB tmpfs, api3)';

/** Fills the file system of `dir` to the last byte; returns the filler's path. */
function fill(dir: string): string {
  const path = join(dir, 'filler.bin');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  // Smaller writes too: not a byte left.
  const small = openSync(join(dir, 'filler-small.bin'), 'w');
  try {
    for (;;) writeSync(small, Buffer.alloc(512));
  } catch {
    /* full */
  } finally {
    closeSync(small);
  }
  return path;
}

/** Every file of a commit's tree, as the merger reads a branch. */
function treeOf(bare: string, commit: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const path of git(bare, 'ls-tree', '-r', '--name-only', commit).split('\n').filter(Boolean)) files.set(path, git(bare, 'show', `${commit}:${path}`));
  return files;
}

describe('fault: the export folder full', () => {
  let sys: System | undefined;
  let mounted: string | undefined;
  let skip: string | undefined;
  beforeAll(async () => {
    const m = await mountTmpfs('publish', '16m');
    if ('skip' in m) {
      skip = m.skip;
      return;
    }
    mounted = m.dir;
    sys = await startSystem({ label: 'disk-full', publishDir: { api3: mounted } });
  });
  afterAll(async () => {
    await sys?.stop();
    if (mounted) {
      try {
        execFileSync('umount', [mounted], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', mounted], { stdio: 'pipe' });
      }
      rmSync(mounted, { recursive: true, force: true });
    }
  });

  it('exports fail with a clear error, nothing half-written reaches the remote, exports succeed once space returns', async (ctx) => {
    if (skip || !sys) {
      recordResult(ctx.task, { fault: FAULT, runs: 0, expected: 0, found: 0, lost: 0, duplicated: 0, recoverySeconds: null, boundSeconds: null, outcome: 'skipped', note: skip });
      ctx.skip(skip);
      return;
    }
    const s = sys;
    const from = s.readyAt;
    await waitUntil('api3 published from the tmpfs', () => headOf(s, 'api3') !== null && headOf(s, 'main') !== null, 60_000);
    const mainAtFull = headOf(s, 'main')!;
    const api3AtFull = headOf(s, 'api3')!;
    // Full 3 s before one of api3's due times, through its export and the retries.
    const { due } = nextDue(s, 'api3', Date.now(), 5000);
    await until(due - 3000);
    const fullAt = Date.now();
    const filler = fill(mounted!);
    const problems = new Set<string>();
    const failing = await waitUntil(
      "api3's /healthz naming the failed export",
      async () => {
        const h = await s.health('api3');
        for (const p of h.problems) problems.add(p);
        return h.status === 'degraded' && h.problems.some((p) => /export of api3 failed/.test(p));
      },
      45_000,
      500,
    );
    await until(Math.max(failing + 3000, due + 12_000));
    const output = s.hosts.api3.proc!.output();
    const api3WhileFull = headOf(s, 'api3');
    // Space back.
    rmSync(filler, { force: true });
    rmSync(join(mounted!, 'filler-small.bin'), { force: true });
    const back = Date.now();
    const newest = newestScrape(await readRows(s), 'api3')!;
    let lastHealth: unknown;
    const recovered = await waitUntil(
      "api3's branch carrying its rows again, and /healthz ok",
      async () => {
        const h = await s.health('api3');
        lastHealth = h;
        return (manifestAt(s, 'api3')?.generated_at ?? '') >= newest && h.status === 'ok';
      },
      60_000,
      500,
    ).catch((err: Error) => {
      const said = s.hosts.api3.proc!.output().split('\n').filter((l) => /"level":[45]/.test(l)).slice(-8).join('\n');
      throw new Error(`${err.message}\nmanifest ${manifestAt(s, 'api3')?.generated_at} < newest row ${newest}?\n${execFileSync('df', ['-k', mounted!]).toString()}/healthz: ${JSON.stringify(lastHealth)}\napi3 said:\n${said}`);
    });
    const recovery = (recovered - back) / 1000;
    const count = await settleAndCount(s, { from, to: Date.now() - 3000, pollers: POLLERS });

    // Nothing half-written on the remote: every commit of api3 and of main since the fill passes the contract.
    const broken: string[] = [];
    for (const [ref, since] of [['api3', api3AtFull], ['main', mainAtFull]] as const) {
      for (const c of [since, ...git(s.bare, 'rev-list', `${since}..${ref}`).split('\n').filter(Boolean)]) {
        const parsed = parseBranch({ branch: ref, files: treeOf(s.bare, c) }, 'data/');
        if (!parsed.ok) broken.push(`${ref} ${c.slice(0, 8)}: ${parsed.reason}`);
      }
    }
    const errors = output.split('\n').filter((l) => /ENOSPC|no space left/i.test(l) && /PUBLISH_DIR/.test(l));
    const clearLine = errors[0] ? (() => { try { const j = JSON.parse(errors[0]); return `${j.msg}: ${j.err ?? j.error ?? ''}`; } catch { return errors[0]; } })() : 'none';
    recordResult(ctx.task, fromCount(FAULT, count, recovery, 45, 'pass', `full ${((back - fullAt) / 1000).toFixed(0)} s; ${errors.length} log lines name ENOSPC, e.g. ${JSON.stringify(clearLine.slice(0, 220))}; api3 head ${api3WhileFull === api3AtFull ? 'unchanged' : 'moved'} while full`));
    expect(errors.length, `a log line naming the full disk; api3 said:\n${output.split('\n').filter((l) => /"level":[45]/.test(l)).slice(-5).join('\n')}`).toBeGreaterThan(0);
    // The failure names the folder and its variable, so the operator knows what to free or move.
    expect([...problems].join('\n')).toMatch(/export of api3 failed: (ENOSPC|EDQUOT): no space left on device in the publishing folder \S+ \(PUBLISH_DIR\)/);
    expect(broken).toEqual([]);
    expect(count.missing).toEqual([]);
    expect(count.lost).toBe(0);
    expect(count.duplicated).toBe(0);
    expect(recovery).toBeLessThanOrEqual(45);
  });
});
