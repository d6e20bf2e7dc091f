import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { listTargets, loadCatalogue, parseCatalogue } from '../catalogue/load.js';
import { loadConfig } from '../config/env.js';
import { loadVendorDirectory } from '../config/vendors.js';
import { APP_READY_SELECTOR, rewriteCatalogueForFleet, startFleet } from '../fleet/index.js';
import { createLogger } from '../log.js';
import { deleteKeys } from '../redis/delete-keys.js';
import { ensureRedis } from '../redis/redis-server.js';
import { createRedisConnection } from '../../queues/connection.js';
import { measureBrowserTier } from './browser-tier.js';
import { measureCycleTime } from './cycle-time.js';
import { measureQueueOverhead } from './queue-overhead.js';
import { measureExportScale, type ExportScaleResult } from './export-scale.js';
import { scaleCatalogue } from './scale-catalogue.js';
import { measureReconcileScale } from './reconcile-scale.js';
import { measureExtraction } from './extraction.js';
import { measureFreshness } from './freshness.js';
import { measureRoleMemory, measureScaleOut } from './scale-out.js';
import { measureSoak } from './soak.js';
import { peakRssMb } from './stats.js';

import type { BenchSection } from './sections.js';
export { BENCH_SECTIONS, type BenchSection } from './sections.js';

export interface BenchOptions {
  /** Smaller sizes: under 2 minutes. */
  quick: boolean;
  /** Where the results go. Default bench/results.json. */
  out: string;
  catalogue: string;
  /** Jobs per throughput measurement. Default 2000 (quick 400). */
  jobs?: number;
  /** Page latency of the cycle-time fleet, ms. Default [1000, 3000] (quick [100, 300]). */
  latencyMs?: [number, number];
  /** Worker processes of the scale-out section. Default [1, 2, 4]. */
  processes?: number[];
  /** Days of generated history for the export section. Default 30 (quick 3). */
  days?: number;
  /** Sections to run. Default all but the soak (30 minutes: only when named). */
  only?: BenchSection[];
  /** Minutes of the soak. Default 30. */
  soakMinutes?: number;
  /** Pages of the browser section's throughput run. Default 1000 (quick 200). */
  browserPages?: number;
  /**
   * Catalogue copies for the scale figures (`--scale N`): the export section runs at 1x and at N x (every coin
   * copied N times at distinct URLs, scale-catalogue.ts) in one run, side by side. Default 1: 1x only.
   */
  scale?: number;
}

/** The faulted cycle's bot walls: one dealer walls every page, another a share of its requests. */
const FULLY_WALLED = 'summitmetals';
const PARTLY_WALLED = 'herobullion';
/** A 429's Retry-After counts as waited exactly when the next request comes no later than this after it. */
const RATE_LIMIT_SLACK_MS = 250;
/** The browser section's script-only dealers: a script-rendered shop, one behind a script challenge, one behind both. */
const BROWSER_ONLY = { appShell: ['bullionexchanges', 'sdbullion'], challenge: ['summitmetals', 'sdbullion'] };

/** A section runs when it was named, or when none were (the soak only when named). */
const wanted = (o: BenchOptions, s: BenchSection) => (o.only?.length ? o.only.includes(s) : s !== 'soak');

/** `npm run bench`: every figure beside the reference measured in the same run; results to JSON and a table. */
export async function runBench(options: BenchOptions): Promise<Record<string, unknown>> {
  const say = (line: string) => process.stdout.write(line + '\n');
  const workdir = await mkdtemp(join(tmpdir(), 'staktrakr-bench-'));
  const logger = createLogger({ level: 'error', name: 'bench' });
  const redis = await ensureRedis({ url: process.env.REDIS_URL, dataDir: workdir });
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const control = createRedisConnection(redis.url, { blocking: false });
  const real = await loadCatalogue(options.catalogue);
  const started = Date.now();
  // The catalogue sizes of the scale figures (freshness, export): 1x, and N x with --scale N.
  const scales = [...new Set([1, options.scale ?? 1])];
  const results: Record<string, unknown> = {
    startedAt: new Date(started).toISOString(),
    quick: options.quick,
    machine: { node: process.version, cpus: cpus().length },
  };
  say(`bench${options.quick ? ' (quick)' : ''}: ${redis.note}; work folder ${workdir}`);
  try {
    if (wanted(options, 'overhead')) {
      say('queue overhead: raw BullMQ beside our scrape jobs, zero-latency fleet, no politeness limit');
      const fleet = await startFleet({ catalogue: real.file });
      try {
        const catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(real.file, fleet.url)), 'bench');
        const r = await measureQueueOverhead({
          redisUrl: redis.url,
          prefix: `${prefix}-overhead`,
          targets: catalogue.targets,
          workdir,
          jobs: options.jobs ?? (options.quick ? 400 : 2000),
          progress: say,
        });
        results.queueOverhead = { ...r, goal: 'median overhead per job under 5 ms', met: r.medianOverheadMs < 5 };
        say(`  per-job overhead beyond fetch and extraction: median ${r.medianOverheadMs} ms, mean ${r.meanOverheadMs} ms (direct fetch+extract ${r.medianFetchExtractMs} ms)`);
      } finally {
        await fleet.close();
        await deleteKeys(control, `${prefix}-overhead:*`);
      }
    }

    const latencyMs = options.latencyMs ?? (options.quick ? [100, 300] : [1000, 3000]);
    // The fleet's clock stands still, so that no price window turns over during a cycle and every price has one truth.
    const frozen = Date.now();
    if (wanted(options, 'cycle')) {
      say(`cycle time: ${real.targets.length} targets due at once, page latency ${latencyMs[0]}-${latencyMs[1]} ms, one request at a time per vendor, no faults`);
      const fleet = await startFleet({ catalogue: real.file, latencyMs, now: () => frozen });
      try {
        const catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(real.file, fleet.url)), 'bench');
        const r = await measureCycleTime({ redisUrl: redis.url, prefix: `${prefix}-cycle`, catalogue, fleet, workdir, logger, label: 'cycle' });
        results.cycleTime = { ...r, latencyMs, goal: 'last row within 10% of the realized floor', met: r.lastRowOverFloorPct <= 10, replacedSystem: 'about 16 minutes' };
        say(`  last row after ${(r.toLastRowMs / 1000).toFixed(1)} s against a realized floor of ${(r.realizedFloorMs / 1000).toFixed(1)} s (${r.busiestHost}, ${r.busiestHostTargets} targets): ${r.lastRowOverFloorPct}% over; prices right ${r.prices.right}/${r.prices.priced}`);
      } finally {
        await fleet.close();
        await deleteKeys(control, `${prefix}-cycle:*`);
      }
    }

    if (wanted(options, 'faults')) {
      const chaos = { rates: { '429': 0.05, '500': 0.05, hang: 0.02 }, walls: { [FULLY_WALLED]: 1, [PARTLY_WALLED]: 0.3 } };
      say(`cycle under faults: bot walls on ${FULLY_WALLED} (every page) and ${PARTLY_WALLED} (30% of requests), 5% 429s, 5% 500s, 2% hung requests, page latency ${latencyMs[0]}-${latencyMs[1]} ms`);
      const fleet = await startFleet({ catalogue: real.file, latencyMs, now: () => frozen, chaos });
      try {
        const catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(real.file, fleet.url)), 'bench');
        const r = await measureCycleTime({ redisUrl: redis.url, prefix: `${prefix}-faults`, catalogue, fleet, workdir, logger, label: 'faults' });
        results.faultedCycle = {
          ...r,
          latencyMs,
          chaos,
          goals: { pricesRightPct: 99.5, lastRightRowOverFloor: 1.05, rowsMissing: 0, rowsDuplicated: 0, rateLimitExcessMsMax: RATE_LIMIT_SLACK_MS },
          met:
            r.prices.rightPct >= 99.5 &&
            r.toLastRightRowMs <= 1.05 * r.realizedFloorMs &&
            r.rows.missing === 0 &&
            r.rows.duplicated === 0 &&
            (r.rateLimits.count === 0 || (r.rateLimits.excessMsMin! >= 0 && r.rateLimits.excessMsMax! <= RATE_LIMIT_SLACK_MS)),
        };
        say(`  last right row after ${(r.toLastRightRowMs / 1000).toFixed(1)} s, last row after ${(r.toLastRowMs / 1000).toFixed(1)} s, against a realized floor of ${(r.realizedFloorMs / 1000).toFixed(1)} s (${r.busiestHost}): ${r.lastRightOverFloorPct}% and ${r.lastRowOverFloorPct}% over`);
        say(`  prices right ${r.prices.right}/${r.prices.priced} (${r.prices.rightPct}%), stock right ${r.prices.stockRight}; rows ${r.rows.found} of ${r.rows.expected} (missing ${r.rows.missing}, duplicated ${r.rows.duplicated}); without a price: ${JSON.stringify(r.unpriced)}`);
        say(`  faults served ${JSON.stringify(r.faults)}; ${r.rateLimits.count} 429s of ${r.rateLimits.askedMs} ms waited ${r.rateLimits.excessMsMin}..${r.rateLimits.excessMsMax} ms beyond Retry-After (median ${r.rateLimits.excessMsMedian})`);
      } finally {
        await fleet.close();
        await deleteKeys(control, `${prefix}-faults:*`);
      }
    }

    if (wanted(options, 'freshness')) {
      const cycles = options.quick ? 1 : 3;
      for (const scale of scales) {
        // At N x the catalogue the interval grows with it (10x: 2 minutes), so the load stays within this machine's CPU.
        const intervalMs = (options.quick ? 30_000 : 60_000) * Math.max(1, Math.ceil(scale / 5));
        const file = scaleCatalogue(real.file, scale);
        say(`freshness at ${scale}x: 3 pollers with scheduler, workers, exporter and merger for ${cycles} cycle(s) of ${intervalMs / 1000} s over ${listTargets(file).length} targets, row write to commit on main`);
        const fleet = await startFleet({ catalogue: file, latencyMs: [100, 600] });
        try {
          const catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(file, fleet.url)), 'bench');
          const r = await measureFreshness({ redisUrl: redis.url, prefix: `${prefix}-fresh-${scale}x`, catalogue, workdir: join(workdir, `fresh-${scale}x`), logger, cycles, intervalMs, progress: say });
          results[scale === 1 ? 'freshness' : `freshness${scale}x`] = { ...r, scale, goal: scale === 1 ? 'p95 under 60 s' : 'p95 under 15 s at scale', met: r.p95Sec < (scale === 1 ? 60 : 15), replacedSystem: '8 to 23 minutes, plus the host deploy' };
          say(`  lag from row to main: p50 ${r.p50Sec} s, p95 ${r.p95Sec} s, max ${r.maxSec} s over ${r.rowsMeasured} rows (${r.mainCommits} commits on main; peak RSS ${r.peakRssMb} MB)`);
        } finally {
          await fleet.close();
          await deleteKeys(control, `${prefix}-fresh-${scale}x:*`);
        }
      }
    }

    if (wanted(options, 'export')) {
      const days = options.days ?? (options.quick ? 3 : 30);
      const goals = { incrementalMs: 2000, fullRebuildMs: 30_000, peakRssMb: 300, mergeMs: 2000, mainGrowthMbPerDay: 5, repositoryGrowthMbPerDay: 15 };
      for (const scale of scales) {
        const catalogueFile = join(workdir, `catalogue-${scale}x.json`);
        await writeFile(catalogueFile, JSON.stringify(scaleCatalogue(real.file, scale)));
        const catalogue = await loadCatalogue(catalogueFile);
        say(`export and merge at scale ${scale}x: ${days} days of history, ${catalogue.targets.length} targets, 3 pollers`);
        const r = await measureExportScale({ catalogue, cataloguePath: catalogueFile, workdir: join(workdir, `export-${scale}x`), days, growthWindows: options.quick ? 2 : 6, scaled: { baseCoins: Object.keys(real.file.coins), factor: scale }, splitPacks: loadConfig().publishSplitPacks, progress: say });
        const peak = Math.max(Number(r.fullRebuild.peakRssMb), Number(r.incremental.peakRssMb), Number(r.mergePublish.peakRssMb), Number(r.snapshot.peakRssMb));
        const figures = {
          ...r,
          scale,
          goals,
          met:
            Number(r.incremental.ms) < goals.incrementalMs &&
            Number(r.fullRebuild.ms) < goals.fullRebuildMs &&
            peak < goals.peakRssMb &&
            Number(r.mergePublish.ms) < goals.mergeMs &&
            r.growth.mainMbPerDay < goals.mainGrowthMbPerDay &&
            r.growth.repositoryMbPerDay < goals.repositoryGrowthMbPerDay,
        };
        if (scale === 1) results.exportScale = figures;
        else results[`exportScale${scale}x`] = figures;
      }
      // The scheduler's side of scale: one poller's reconcile at 1x, N x and 100x (16,600 targets), fresh keys each.
      results.reconcileScale = await measureReconcileScale({ connection: control, prefix, catalogue: real.file, scales: [...new Set([...scales, 100])], progress: say });
      if (scales.length > 1) say(exportScaleTable(results.exportScale as ExportScaleResult, results[`exportScale${scales[1]}x`] as ExportScaleResult, scales[1]));
    }

    if (wanted(options, 'extraction')) {
      const r = await measureExtraction({ iterations: options.quick ? 30 : 100 });
      results.extraction = { ...r, goal: 'median under 20 ms for a 200 KB page', met: r.medianMs < 20 };
      say(`extraction of a ${Math.round(r.pageBytes / 1024)} KB page: median ${r.medianMs} ms, p95 ${r.p95Ms} ms over ${r.iterations} runs`);
    }

    if (wanted(options, 'scale')) {
      say('scale-out: 1, 2 and 4 worker processes, zero-latency fleet, one Redis, one database file');
      const fleet = await startFleet({ catalogue: real.file });
      try {
        const rewritten = rewriteCatalogueForFleet(real.file, fleet.url);
        const cataloguePath = join(workdir, 'scale-providers.json');
        await writeFile(cataloguePath, JSON.stringify(rewritten));
        const catalogue = parseCatalogue(JSON.stringify(rewritten), cataloguePath);
        const figures = await measureScaleOut({
          redisUrl: redis.url,
          prefix: `${prefix}-scale`,
          catalogue,
          cataloguePath,
          workdir,
          processes: options.processes ?? (options.quick ? [1, 2] : [1, 2, 4]),
          jobs: options.jobs ?? (options.quick ? 300 : 1500),
          progress: say,
        });
        results.scaleOut = { figures, bottleneck: describeBottleneck(figures) };
        say(`  ${describeBottleneck(figures)}`);
        const roles = await measureRoleMemory({ redisUrl: redis.url, prefix: `${prefix}-roles`, cataloguePath, workdir });
        results.roleMemory = { ...roles, workerMb: Math.max(...figures.flatMap((f) => f.workerPeakRssMb)) };
        say(`  peak RSS: scheduler ${roles.schedulerMb} MB, api ${roles.apiMb} MB, worker ${Math.max(...figures.flatMap((f) => f.workerPeakRssMb))} MB`);
      } finally {
        await fleet.close();
      }
    }
    if (wanted(options, 'browser')) {
      const pages = options.browserPages ?? (options.quick ? 200 : 1000);
      say(`browser tier beside the HTTP tier: ${pages} pages each in a worker process of its own, zero-latency fleet, scrapeTarget at concurrency 2 (no queue); resident set of the worker and its Chromium processes sampled every second`);
      const vendors = await loadVendorDirectory(process.env.VENDORS_PATH || 'config/vendors.json', 2);
      // Frozen clocks: no price window turns over during the run, so every page has one truth.
      const fleet = await startFleet({ catalogue: real.file, now: () => frozen });
      const scriptFleet = await startFleet({ catalogue: real.file, now: () => frozen, browserVendors: BROWSER_ONLY });
      try {
        const targets = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(real.file, fleet.url)), 'bench').targets;
        const scriptVendors = new Set([...BROWSER_ONLY.appShell, ...BROWSER_ONLY.challenge]);
        const scriptTargets = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(real.file, scriptFleet.url)), 'bench').targets.filter((t) => scriptVendors.has(t.vendor));
        const r = await measureBrowserTier({
          targets,
          fleet,
          scriptOnly: { targets: options.quick ? scriptTargets.filter((_, i) => i % 2 === 0) : scriptTargets, fleet: scriptFleet, ...BROWSER_ONLY },
          vendors,
          // The vendor's settings for a page only a browser can read: tier auto, and the app shell's ready marker to wait for.
          scriptOnlyVendor: (v) => {
            const own = vendors.get(v);
            return {
              ...own,
              tier: own.tier === 'http' ? 'auto' : own.tier,
              browser: { ...own.browser, ...(BROWSER_ONLY.appShell.includes(v) ? { waitForSelector: APP_READY_SELECTOR } : {}) },
            };
          },
          pages,
          progress: say,
        });
        const mem = r.throughput.browser.memory;
        const so = r.scriptOnly;
        results.browserTier = {
          ...r,
          // Memory is judged on PSS: the VmRSS of a dozen Chromium processes added up counts the binary's and the
          // libraries' shared pages once per process (about 100 MB each), which no machine ever holds.
          goals: { peakPssMb: 1024, pssGrowthPct: 10, scriptOnlyRightPct: 100, browserRightPctAtLeastHttp: true, chromiumLeft: 0 },
          met:
            mem.peakPssMb < 1024 &&
            mem.pssGrowthPct !== null &&
            Math.abs(mem.pssGrowthPct) <= 10 &&
            so.browser.right === so.browser.pages &&
            r.accuracy.browser.right >= r.accuracy.http.right &&
            r.chromium.leftAfterClose === 0,
        };
        const t = r.throughput;
        say(`  pages per second: http ${t.http.pagesPerSec} (median ${t.http.medianPageMs} ms a page), browser ${t.browser.pagesPerSec} (median ${t.browser.medianPageMs} ms); ${t.browser.pool?.launched} browsers launched, ${t.browser.pool?.retired} retired, ${t.browser.pool?.crashes} crashes`);
        say(`  browser worker RSS (process + Chromium): peak ${mem.peakMb} MB (worker ${mem.peakWorkerMb}, Chromium ${mem.peakChromiumMb} in up to ${mem.peakChromiumProcesses} processes; without double-counting shared pages: PSS ${mem.peakPssMb} MB, private ${mem.peakAnonMb} MB), at 10% ${mem.at10pctMb} MB, at 100% ${mem.at100pctMb} MB: growth ${mem.growthPct}% (PSS ${mem.at10pctPssMb} to ${mem.at100pctPssMb} MB, ${mem.pssGrowthPct}%); http worker peak ${t.http.memory.peakMb} MB`);
        say(`  prices right on ordinary pages: browser ${r.accuracy.browser.right}/${r.accuracy.browser.pages}, http ${r.accuracy.http.right}/${r.accuracy.http.pages} (${r.accuracy.browser.targets} targets)${r.accuracy.browser.wrong.length ? `; browser wrong: ${r.accuracy.browser.wrong.join('; ')}` : ''}`);
        say(`  script-only pages (${so.http.pages}): http priced ${so.http.priced}, without a price ${JSON.stringify(so.http.unpriced)}; browser (tier auto) right ${so.browser.right}/${so.browser.pages}, stock right ${so.browser.stockRight}, read by ${JSON.stringify(so.browser.sources)}, ${so.browser.pagesPerSec} pages/s${so.browser.wrong.length ? `; wrong: ${so.browser.wrong.join('; ')}` : ''}${Object.keys(so.browser.unpriced).length ? `; unpriced ${JSON.stringify(so.browser.unpriced)}` : ''}`);
        say(`  Chromium processes: ${r.chromium.processesSeen} seen, ${r.chromium.leftAfterClose} left after the pools closed${r.chromium.left.length ? `: ${r.chromium.left.join(', ')}` : ''}`);
      } finally {
        await fleet.close();
        await scriptFleet.close();
      }
    }
    if (wanted(options, 'soak')) {
      const minutes = options.soakMinutes ?? 30;
      say(`soak: one poller's roles as separate processes under load (a catalogue round every 5 s, zero-latency fleet) for ${minutes} min, resident set sampled every minute`);
      const fleet = await startFleet({ catalogue: real.file });
      try {
        const rewritten = rewriteCatalogueForFleet(real.file, fleet.url);
        const cataloguePath = join(workdir, 'soak-providers.json');
        await writeFile(cataloguePath, JSON.stringify(rewritten));
        const r = await measureSoak({ redisUrl: redis.url, prefix: `${prefix}-soak`, catalogue: parseCatalogue(JSON.stringify(rewritten), cataloguePath), cataloguePath, workdir, minutes, progress: say });
        results.soak = { ...r, goal: 'every process levels off: the last third of the run within 10% of the middle third', met: r.levelsOff };
        say(`  growth from the middle third to the last: ${Object.entries(r.growth).map(([k, g]) => `${k} ${g}x`).join(', ')}; ${r.levelsOff ? 'levels off' : 'still growing'}`);
      } finally {
        await fleet.close();
      }
    }
  } finally {
    control.disconnect();
    await redis.stop?.();
    await rm(workdir, { recursive: true, force: true });
  }
  results.benchPeakRssMb = peakRssMb();
  results.durationSec = Math.round((Date.now() - started) / 1000);
  const out = resolve(options.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(results, null, 2) + '\n');
  say(`results written to ${out} (${results.durationSec} s)`);
  return results;
}

/** Names what stopped the scaling, from the CPU each party used during the largest run. */
export function describeBottleneck(figures: Array<{ processes: number; speedup: number; cpu: { workers: number; fleet: number; redis: number; total: number } }>): string {
  const last = figures.at(-1);
  if (!last || figures.length < 2) return 'one measurement: no scaling figure';
  const cores = cpus().length;
  const where = `workers ${last.cpu.workers}, fleet ${last.cpu.fleet}, redis ${last.cpu.redis} of ${cores} cores`;
  if (last.speedup >= last.processes * 0.8) return `scales almost linearly to ${last.processes} processes (${last.speedup}x): no bottleneck yet (${where})`;
  if (last.cpu.redis >= 0.8) return `${last.processes} processes give ${last.speedup}x: Redis is the bottleneck, its one thread is busy (${where})`;
  if (last.cpu.total >= cores * 0.85) {
    return `${last.processes} processes give ${last.speedup}x: the machine's CPU is the bottleneck (${where}); Redis uses ${last.cpu.redis} of a core, so Redis is not what stops the scaling`;
  }
  return `${last.processes} processes give ${last.speedup}x with CPU to spare (${where}): the database file's single writer lock is the bottleneck, before Redis`;
}

/** The export figures at 1x and N x, one row each, for the terminal. */
function exportScaleTable(one: ExportScaleResult, n: ExportScaleResult, scale: number): string {
  const rows: Array<[string, (r: ExportScaleResult) => string]> = [
    ['targets', (r) => String(r.targets)],
    ['incremental export (ms)', (r) => String(r.incremental.ms)],
    ['merge with fetch and push (ms)', (r) => String(r.mergePublish.ms)],
    ['full rebuild (ms)', (r) => String(r.fullRebuild.ms)],
    ['peak RSS export / all pollers / merge / snapshot (MB)', (r) => [r.fullRebuild, r.fullRebuildAllPollers, r.mergePublish, r.snapshot].map((s) => s.peakRssMb).join(' / ')],
    ['main growth (MB a day)', (r) => String(r.growth.mainMbPerDay)],
    ['repository growth (MB a day)', (r) => String(r.growth.repositoryMbPerDay)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [`${''.padEnd(width)}  ${'1x'.padStart(12)}  ${`${scale}x`.padStart(12)}`, ...rows.map(([label, f]) => `${label.padEnd(width)}  ${f(one).padStart(12)}  ${f(n).padStart(12)}`)].join('\n');
}
