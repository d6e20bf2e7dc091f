import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import type { Catalogue } from '../catalogue/load.js';
import { ensureLocalRemote } from '../publish/local-remote.js';
import { copyHistoryToScale, generateHistory } from './history.js';
import { windowStart } from '../time/window.js';
import { runExportStep } from './export-step.js';
import { round } from './stats.js';

export interface ExportScaleOptions {
  catalogue: Catalogue;
  cataloguePath: string;
  workdir: string;
  /** Days of history. Default 30. */
  days?: number;
  pollers?: string[];
  /** New windows published to measure the repository's growth. Default 6. */
  growthWindows?: number;
  /**
   * For a catalogue made by scaleCatalogue(base, factor): the base catalogue's coins. Rows are generated for their
   * targets and copied to the `-x{k}` copies inside SQLite (copyHistoryToScale). Default: rows generated for every target.
   */
  scaled?: { baseCoins: string[]; factor: number };
  /** Pushes by path groups (PUBLISH_SPLIT_PACKS). Default false. */
  splitPacks?: boolean;
  progress?: (line: string) => void;
}

type Step = Record<string, number | string | boolean>;

export interface ExportScaleResult {
  rows: number;
  days: number;
  targets: number;
  pollers: number;
  generateSec: number;
  /** One poller's export with no state: every date read. */
  fullRebuild: Step;
  /** The same poller's export after one new 15-minute window of every poller. */
  incremental: Step;
  /** Every poller's rows in one tree, no state: the heaviest export. */
  fullRebuildAllPollers: Step;
  /** mergeTrees over the three poller trees, in memory. */
  mergeInMemory: Step;
  /** The merger end to end against a local bare remote: fetch 3 branches, merge, push main. */
  mergePublish: Step;
  snapshot: Step;
  /** Size of main's tree after the merge. */
  mainTreeBytes: number;
  /**
   * Packed growth over `windows` new windows (3 exports and a merge each), scaled to a day (96 windows):
   * of `main` (JSON, plus one snapshot a day) and of the whole repository (plus the change in size of the poller
   * branches, which hold their latest export only).
   */
  growth: {
    windows: number;
    mainKbPerWindow: number;
    mainJsonMbPerDay: number;
    snapshotMbPerDay: number;
    snapshotGzMb: number;
    mainMbPerDay: number;
    repositoryMbPerDay: number;
    /** `main`'s JSON a day packed as pushed, and afresh with git's default window (packedBytes). */
    mainJsonMbPerDayOtherPacks: { pushed: number; defaultRepack: number };
  };
}

/**
 * Bytes of a pack holding everything reachable from `refs`: what a clone downloads.
 * - `repacked` (the growth figures): deltas computed afresh as `git gc --aggressive` does (window 250, depth 50),
 *   what a host that repacked serves. Deterministic: it does not depend on whether the remote's automatic repack
 *   happened to run inside the measured windows (6.8 vs 16.3 MB a day for the same code at 10x when it did).
 * - `pushed`: the deltas as the pushes brought them (a remote that never repacks).
 * - `default`: afresh with git's default window of 10: at 10x, git before 2.50 sorts objects by a hash of their
 *   path's last 16 characters, and the many coins whose paths end alike crowd a file's own previous version out of
 *   so small a window.
 */
export type PackMode = 'repacked' | 'pushed' | 'default';
function packedBytes(gitDir: string, refs: string[], mode: PackMode = 'repacked'): number {
  const flags = { repacked: ['--no-reuse-delta', '--window=250', '--depth=50'], pushed: [], default: ['--no-reuse-delta'] }[mode];
  const pack = execFileSync('git', [`--git-dir=${gitDir}`, 'pack-objects', '--revs', '--stdout', '-q', ...flags], { input: `${refs.join('\n')}\n`, maxBuffer: 1 << 30 });
  return pack.length;
}

/** Export and merge over 30 days of generated history for the real catalogue and 3 pollers (about 1.4 million rows). */
export async function measureExportScale(options: ExportScaleOptions): Promise<ExportScaleResult> {
  const say = options.progress ?? (() => undefined);
  const days = options.days ?? 30;
  const pollers = options.pollers ?? ['api1', 'api2', 'api3'];
  await mkdir(options.workdir, { recursive: true });
  const db = join(options.workdir, 'history.db');
  const targets = options.catalogue.targets.map((t) => ({ coin: t.coin, vendor: t.vendor }));
  const now = new Date();
  const client = createClient({ url: `file:${db}` });
  // Rows for the targets (of the base coins when scaled; their copies then get them inside SQLite).
  const scaled = options.scaled && options.scaled.factor > 1 ? options.scaled : null;
  const base = scaled ? new Set(scaled.baseCoins) : null;
  const generateFor = base ? targets.filter((t) => base.has(t.coin)) : targets;
  const generate = async (o: { days: number; now: Date; seed?: number; db?: typeof client }) => {
    const t = performance.now();
    const c = o.db ?? client;
    const r = await generateHistory(c, { days: o.days, targets: generateFor, pollers, now: o.now, seed: o.seed });
    const copied = scaled ? await copyHistoryToScale(c, { baseCoins: scaled.baseCoins, factor: scaled.factor, fromWindow: windowStart(o.now.getTime() - o.days * 86_400_000 - 15 * 60_000) }) : 0;
    return { inserted: r.inserted + copied, ms: performance.now() - t };
  };
  say(`  generating ${days} days x ${targets.length} targets x ${pollers.length} pollers at 15 min${scaled ? ` (${generateFor.length} targets generated, copied ${scaled.factor - 1} times inside SQLite)` : ''}...`);
  const generated = await generate({ days, now });
  say(`  ${generated.inserted} rows in ${round(generated.ms / 1000, 1)} s`);

  const tree = (p: string) => join(options.workdir, 'trees', p, 'data');
  const state = (p: string) => join(options.workdir, `state-${p}.json`);
  const exportOf = (pollerId: string) => runExportStep({ step: 'export', db, catalogue: options.cataloguePath, pollerId, outDir: tree(pollerId), stateFile: state(pollerId) });

  const fullRebuild = await exportOf(pollers[0]);
  say(`  full rebuild of ${pollers[0]}: ${fullRebuild.ms} ms, peak RSS ${fullRebuild.peakRssMb} MB`);
  for (const p of pollers.slice(1)) await exportOf(p);
  // One new window for every poller, as the fleet writes it every 15 minutes.
  const added = await generate({ days: 0, now: new Date(now.getTime() + 15 * 60_000) });
  client.close();
  const incremental = await exportOf(pollers[0]);
  say(`  incremental export after one new window: ${incremental.ms} ms, peak RSS ${incremental.peakRssMb} MB`);
  const fullRebuildAllPollers = await runExportStep({ step: 'export', db, catalogue: options.cataloguePath, pollerId: null, outDir: join(options.workdir, 'trees', 'all', 'data'), stateFile: join(options.workdir, 'state-none.json') });
  say(`  full rebuild of every poller's rows in one tree: ${fullRebuildAllPollers.ms} ms, peak RSS ${fullRebuildAllPollers.peakRssMb} MB`);

  const mergeInMemory = await runExportStep({ step: 'merge-trees', treeDirs: pollers.map(tree) });
  const remote = join(options.workdir, 'remote.git');
  await ensureLocalRemote(remote);
  for (const p of pollers) await runExportStep({ step: 'publish', splitPacks: options.splitPacks, db, catalogue: options.cataloguePath, pollerId: p, remote, workDir: join(options.workdir, 'publish', p) });
  const mergePublish = await runExportStep({ step: 'merge-publish', splitPacks: options.splitPacks, db, remote, branches: pollers, workDir: join(options.workdir, 'publish', 'merge') });
  say(`  merge of ${pollers.length} branches: ${mergeInMemory.ms} ms in memory, ${mergePublish.ms} ms with fetch and push (peak RSS ${mergePublish.peakRssMb} MB)`);
  // Repository growth at the default cadence: new windows, each exported by every poller and merged.
  const windows = options.growthWindows ?? 6;
  const before = { main: packedBytes(remote, ['main']), tips: packedBytes(remote, pollers), pushed: packedBytes(remote, ['main'], 'pushed'), default: packedBytes(remote, ['main'], 'default') };
  const writer = createClient({ url: `file:${db}` });
  for (let w = 0; w < windows; w++) {
    await generate({ days: 0, now: new Date(now.getTime() + (w + 2) * 15 * 60_000), seed: w + 2, db: writer });
    for (const p of pollers) await runExportStep({ step: 'publish', splitPacks: options.splitPacks, db, catalogue: options.cataloguePath, pollerId: p, remote, workDir: join(options.workdir, 'publish', p) });
    await runExportStep({ step: 'merge-publish', splitPacks: options.splitPacks, db, remote, branches: pollers, workDir: join(options.workdir, 'publish', 'merge') });
  }
  const mainPerWindow = (packedBytes(remote, ['main']) - before.main) / windows;
  const perDayMb = (mode: PackMode, from: number) => round(((packedBytes(remote, ['main'], mode) - from) / windows) * 96 / 1048576, 2);
  const mainJsonMbPerDayOtherPacks = { pushed: perDayMb('pushed', before.pushed), defaultRepack: perDayMb('default', before.default) };
  // The poller branches hold their latest export only (POLLER_BRANCH_HISTORY=tip): their size changes, it does not
  // add up day after day, so what they add to a clone is counted once, not per window.
  const tipsChange = Math.max(0, packedBytes(remote, pollers) - before.tips);
  // The snapshot is published once a day: its growth is what git packs for one more day, delta included.
  const mergeDir = join(options.workdir, 'publish', 'merge');
  await runExportStep({ step: 'merge-publish', splitPacks: options.splitPacks, db, remote, branches: pollers, workDir: mergeDir, snapshot: true });
  const beforeDay = packedBytes(remote, ['main']);
  await generate({ days: 1, now: new Date(now.getTime() + 86_400_000), db: writer });
  writer.close();
  const nextDay = await runExportStep({ step: 'merge-publish', splitPacks: options.splitPacks, db, remote, branches: pollers, workDir: mergeDir, snapshot: true });
  if (nextDay.snapshot !== 'fresh') throw new Error(`bench: the merge did not write a fresh snapshot (${nextDay.snapshot})`);
  const snapshotMbPerDay = round((packedBytes(remote, ['main']) - beforeDay) / 1048576, 2);
  const snapshot = await runExportStep({ step: 'snapshot', db, outFile: join(options.workdir, 'snapshot.db') });
  const snapshotGzMb = round(gzipSync(readFileSync(join(options.workdir, 'snapshot.db'))).length / 1048576, 2);
  const mainJsonMbPerDay = round((mainPerWindow * 96) / 1048576, 2);
  const growth = {
    windows,
    mainKbPerWindow: round(mainPerWindow / 1024, 1),
    mainJsonMbPerDay,
    snapshotMbPerDay,
    snapshotGzMb,
    mainMbPerDay: round(mainJsonMbPerDay + snapshotMbPerDay, 2),
    repositoryMbPerDay: round((mainPerWindow * 96 + tipsChange) / 1048576 + snapshotMbPerDay, 2),
    mainJsonMbPerDayOtherPacks,
  };
  say(`  growth of main (repacked as git gc --aggressive does): ${growth.mainKbPerWindow} KB per window = ${mainJsonMbPerDay} MB a day of JSON + ${snapshotMbPerDay} MB a day of snapshot (packed as a delta of the day before; ${snapshotGzMb} MB whole) = ${growth.mainMbPerDay} MB a day (whole repository with the poller branches: ${growth.repositoryMbPerDay} MB a day); the JSON as pushed ${mainJsonMbPerDayOtherPacks.pushed} MB a day, repacked with git's default window ${mainJsonMbPerDayOtherPacks.defaultRepack} MB a day`);
  say(`  snapshot: ${round(Number(snapshot.bytes) / 1048576, 1)} MB in ${snapshot.ms} ms (peak RSS ${snapshot.peakRssMb} MB)`);
  const mainTreeBytes = execFileSync('git', [`--git-dir=${remote}`, 'ls-tree', '-r', '-l', 'main'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .reduce((n, line) => n + Number(line.split(/\s+/)[3] || 0), 0);
  return {
    rows: generated.inserted + added.inserted,
    days,
    targets: targets.length,
    pollers: pollers.length,
    generateSec: round(generated.ms / 1000, 1),
    fullRebuild,
    incremental,
    fullRebuildAllPollers,
    mergeInMemory,
    mergePublish,
    snapshot,
    mainTreeBytes,
    growth,
  };
}
