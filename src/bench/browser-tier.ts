import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Target } from '../catalogue/target.js';
import type { VendorDirectory, VendorSettings } from '../config/vendors.js';
import { BrowserPool } from '../browser/browser-pool.js';
import { INSTALL_CHROMIUM, locateChromium } from '../browser/chromium.js';
import { fetchWithBrowser } from '../scrape/fetch/browser-fetch.js';
import { scrapeTarget } from '../scrape/scrape-target.js';
import { median, round } from './stats.js';

/**
 * The browser tier beside the HTTP tier, each run in a worker process of its own (this file, forked) so that
 * its resident set is a worker's: scrapeTarget with the vendor's settings at concurrency 2, no queue.
 * The browser run's memory is the worker process plus every Chromium process of its pool (the pool's browser
 * pids and all their descendants), VmRSS summed, sampled every second.
 */

/** Who reads a page and how the answer compares with the fleet's truth. */
export interface PageRead {
  vendor: string;
  coin: string;
  source: string;
  kind: string;
  outcome: string | null;
  price: number | null;
  inStock: boolean | null;
  reason: string;
  ms: number;
}

export interface RssSample {
  /** Seconds since the run started. */
  atSec: number;
  /** Pages finished when the sample was taken. */
  done: number;
  /** The worker process alone, MB. */
  workerMb: number;
  /** Every Chromium process of the pool (browser pids and their descendants), MB (VmRSS; shared pages counted in each). */
  chromiumMb: number;
  /** RssAnon of worker and Chromium together, MB (private memory: heaps, no mapped files, no shared memory). */
  anonMb: number;
  /** Chromium processes counted. */
  chromiumProcesses: number;
  /** Proportional set size of worker and Chromium together, MB (shared pages divided between their processes). */
  pssMb: number;
}

interface ChildRun {
  pagesPerSec: number;
  wallMs: number;
  medianPageMs: number;
  reads: PageRead[];
  samples: RssSample[];
  pool: { launched: number; retired: number; crashes: number; tabCrashes: number } | null;
  /** Every Chromium pid seen during the run, and those still alive after the pool closed. */
  chromiumPids: number[];
  leftAfterClose: string[];
}

interface ChildRequest {
  jobs: Array<{ target: Target; vendor: VendorSettings }>;
  browser: boolean;
  concurrency: number;
  sampleMs: number;
}

const THIS_FILE = fileURLToPath(import.meta.url);
const CHILD_FLAG = '--bench-browser-child';

// ---------------------------------------------------------------------------------------------------------------
// The worker side (a forked process): run the jobs, sample memory, close the pool, report.

function vmRssKb(pid: number | 'self'): number | null {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) : 0;
  } catch {
    return null;
  }
}

function anonKb(pid: number | 'self'): number {
  try {
    const kb = /RssAnon:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) : 0;
  } catch {
    return 0;
  }
}

function pssKb(pid: number | 'self'): number {
  try {
    const kb = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return kb ? Number(kb[1]) : 0;
  } catch {
    return 0;
  }
}

/** The given pids and all their descendants alive now (a walk over /proc's parent links). */
export function withDescendants(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...out];
}

/** Alive and not a zombie (an exited process its parent has not reaped yet holds no memory). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** `pid comm` of a process, for the report of what was left. */
function describePid(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()} ${/^State:\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?'}`;
  } catch {
    return `${pid} gone`;
  }
}

async function runChild(request: ChildRequest): Promise<ChildRun> {
  let pool: BrowserPool | null = null;
  if (request.browser) {
    const chromium = locateChromium(process.env.CHROMIUM_PATH);
    if (!chromium.path) throw new Error(`no Chromium for the browser tier (looked for ${chromium.tried}): ${INSTALL_CHROMIUM}`);
    pool = new BrowserPool({ executablePath: chromium.path }); // the default configuration: 1 browser, 2 pages
  }
  const browserPool = pool;
  const seen = new Set<number>();
  const samples: RssSample[] = [];
  const started = performance.now();
  let done = 0;
  const sample = () => {
    const roots = browserPool ? browserPool.stats().pids : [];
    const chromium = roots.length ? withDescendants(roots) : [];
    let chromiumKb = 0;
    let pss = pssKb('self');
    let anon = anonKb('self');
    for (const pid of chromium) {
      const kb = vmRssKb(pid);
      if (kb === null) continue;
      seen.add(pid);
      chromiumKb += kb;
      pss += pssKb(pid);
      anon += anonKb(pid);
    }
    samples.push({
      atSec: round((performance.now() - started) / 1000, 1),
      done,
      workerMb: round((vmRssKb('self') ?? 0) / 1024, 1),
      chromiumMb: round(chromiumKb / 1024, 1),
      chromiumProcesses: chromium.length,
      pssMb: round(pss / 1024, 1),
      anonMb: round(anon / 1024, 1),
    });
  };
  const timer = setInterval(sample, request.sampleMs);
  const reads: PageRead[] = new Array(request.jobs.length);
  let next = 0;
  const browser = browserPool ? (url: string, o: Parameters<typeof fetchWithBrowser>[2]) => fetchWithBrowser(browserPool, url, o) : undefined;
  try {
    await Promise.all(
      Array.from({ length: request.concurrency }, async () => {
        while (next < request.jobs.length) {
          const i = next++;
          const { target, vendor } = request.jobs[i];
          const t = performance.now();
          const report = await scrapeTarget(target, { vendor, ...(browser ? { browser } : {}) });
          const ms = performance.now() - t;
          const result = report.kind === 'result' ? report.result : null;
          reads[i] = {
            vendor: target.vendor,
            coin: target.coin,
            source: report.source,
            kind: report.kind,
            outcome: result?.outcome ?? null,
            price: report.kind === 'result' && !report.rejected ? report.result.price : null,
            inStock: result?.inStock ?? null,
            reason: result ? `${report.tiers.map((a) => `${a.tier} ${a.outcome}`).join(' -> ')}: ${result.reason}` : report.kind === 'transient' ? report.reason : report.kind,
            ms: round(ms, 1),
          };
          done += 1;
        }
      }),
    );
    const wallMs = performance.now() - started;
    sample(); // at 100% of the run, before the pool closes
    const stats = browserPool?.stats();
    return {
      pagesPerSec: round(request.jobs.length / (wallMs / 1000), 2),
      wallMs: round(wallMs, 0),
      medianPageMs: round(median(reads.map((r) => r.ms)), 1),
      reads,
      samples,
      pool: stats ? { launched: stats.launched, retired: stats.retired, crashes: stats.crashes, tabCrashes: stats.tabCrashes } : null,
      chromiumPids: [...seen],
      leftAfterClose: [],
    };
  } finally {
    clearInterval(timer);
    await browserPool?.close();
  }
}

if (process.argv[1] === THIS_FILE && process.argv.includes(CHILD_FLAG) && process.send) {
  process.once('message', (request: ChildRequest) => {
    runChild(request)
      .then(async (run) => {
        // Give Chromium's helpers a moment to exit after the browser closed, then say who is left.
        for (let i = 0; i < 20 && run.chromiumPids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
        // Those seen, and any Chromium still below this worker (a helper started between two samples).
        const below = withDescendants([process.pid]).filter((pid) => pid !== process.pid && /chrom/i.test(describePid(pid)));
        run.leftAfterClose = [...new Set([...run.chromiumPids, ...below])].filter(alive).map(describePid);
        process.send!({ ok: true, run }, () => process.disconnect());
      })
      .catch((err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }, () => process.disconnect()));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The bench side.

/** Runs the jobs in a worker process of their own; every Chromium process it reports still alive is killed. */
async function inWorker(request: ChildRequest): Promise<ChildRun> {
  const child = fork(THIS_FILE, [CHILD_FLAG], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let run: ChildRun | null = null;
  try {
    return await new Promise<ChildRun>((resolve, reject) => {
      child.once('message', (m: { ok: true; run: ChildRun } | { ok: false; error: string }) => {
        if (m.ok) {
          run = m.run;
          resolve(m.run);
        } else reject(new Error(`browser bench worker failed: ${m.error}`));
      });
      child.once('exit', (code, signal) => reject(new Error(`browser bench worker exited (${signal ?? code}) before it reported`)));
      child.once('error', reject);
      child.send(request);
    });
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  } finally {
    await exited(child, 10_000);
    // Chromium exits when its pipe to the worker closes; anything left of what this run started is ended here.
    const r = run as ChildRun | null;
    for (const pid of r?.chromiumPids ?? []) killIfChromium(pid);
  }
}

/** Waits for the worker to exit (it does once it reported and its pool closed); SIGKILL after `ms`. */
async function exited(child: ReturnType<typeof fork>, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function killIfChromium(pid: number): void {
  try {
    if (/chrom/i.test(readFileSync(`/proc/${pid}/comm`, 'utf8'))) process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

export interface FleetTruth {
  truth(vendor: string, coin: string): { price: number; inStock: boolean; preorder: boolean };
}

/** Right = the 1-unit price equals the truth to the cent and the stock matches (pre-order as the vendor counts it). */
export function score(reads: PageRead[], fleet: FleetTruth, vendors: VendorDirectory) {
  let priced = 0;
  let right = 0;
  let stockRight = 0;
  const wrong: string[] = [];
  const unpriced: Record<string, number> = {};
  for (const r of reads) {
    if (r.price === null) {
      const key = r.outcome ?? r.kind;
      unpriced[key] = (unpriced[key] ?? 0) + 1;
      continue;
    }
    priced += 1;
    const t = fleet.truth(r.vendor, r.coin);
    const inStock = t.inStock || (t.preorder && vendors.get(r.vendor).rules.preorderInStock);
    const priceOk = Math.round(r.price * 100) === Math.round(t.price * 100);
    const stockOk = r.inStock === inStock;
    if (stockOk) stockRight += 1;
    if (priceOk && stockOk) right += 1;
    else if (wrong.length < 10) wrong.push(`${r.coin}@${r.vendor}: ${r.price} ${r.inStock ? 'in' : 'out of'} stock, truth ${t.price} ${inStock ? 'in' : 'out of'} stock`);
  }
  return {
    pages: reads.length,
    targets: new Set(reads.map((r) => `${r.coin}@${r.vendor}`)).size,
    priced,
    right,
    rightPct: reads.length ? round((100 * right) / reads.length, 2) : 0,
    stockRight,
    unpriced,
    wrong,
  };
}

/**
 * Memory at a point of the run: the median of the samples taken while `from`..`to` of the pages were done (pages
 * still being read). A single sample may catch the pool retiring its browser (every 200 pages), a dip, not a level.
 */
function levelAt(samples: RssSample[], pages: number, from: number, to: number): { totalMb: number; pssMb: number; samples: number } | null {
  const window = samples.filter((s) => s.done >= from * pages && s.done < Math.max(to * pages, from * pages + 1) && s.done < pages);
  if (!window.length) return null;
  return { totalMb: round(median(window.map(totalMb)), 1), pssMb: round(median(window.map((s) => s.pssMb)), 1), samples: window.length };
}

const totalMb = (s: RssSample | null) => (s ? round(s.workerMb + s.chromiumMb, 1) : 0);

function memoryOf(run: ChildRun, pages: number) {
  const at10 = levelAt(run.samples, pages, 0.05, 0.15);
  const at100 = levelAt(run.samples, pages, 0.9, 1);
  const end = run.samples.at(-1) ?? null;
  const peak = run.samples.reduce<RssSample | null>((best, s) => (!best || totalMb(s) > totalMb(best) ? s : best), null);
  return {
    samples: run.samples.length,
    peakMb: totalMb(peak),
    peakWorkerMb: round(Math.max(0, ...run.samples.map((s) => s.workerMb)), 1),
    peakChromiumMb: round(Math.max(0, ...run.samples.map((s) => s.chromiumMb)), 1),
    peakChromiumProcesses: Math.max(0, ...run.samples.map((s) => s.chromiumProcesses)),
    peakPssMb: round(Math.max(0, ...run.samples.map((s) => s.pssMb)), 1),
    peakAnonMb: round(Math.max(0, ...run.samples.map((s) => s.anonMb)), 1),
    /** Median of the samples from 5% to 15% of the pages, and from 90% to the last page. */
    at10pctMb: at10?.totalMb ?? 0,
    at100pctMb: at100?.totalMb ?? 0,
    levelSamples: [at10?.samples ?? 0, at100?.samples ?? 0],
    growthPct: at10 && at100 ? round((at100.totalMb / at10.totalMb - 1) * 100, 1) : null,
    at10pctPssMb: at10?.pssMb ?? 0,
    at100pctPssMb: at100?.pssMb ?? 0,
    pssGrowthPct: at10 && at100 ? round((at100.pssMb / at10.pssMb - 1) * 100, 1) : null,
    afterLastPageMb: totalMb(end),
    /** Every sample: [seconds, pages done, worker MB, Chromium MB (VmRSS sum), PSS MB, RssAnon MB, Chromium processes]. */
    series: run.samples.map((s) => [s.atSec, s.done, s.workerMb, s.chromiumMb, s.pssMb, s.anonMb, s.chromiumProcesses]),
  };
}

export interface BrowserTierOptions {
  /** Ordinary fleet targets (zero latency, frozen clock). */
  targets: Target[];
  fleet: FleetTruth;
  /** Script-only targets, on a fleet serving them as app shells and behind challenges. */
  scriptOnly: { targets: Target[]; fleet: FleetTruth; appShell: string[]; challenge: string[] };
  /** The vendor settings as configured (config/vendors.json). */
  vendors: VendorDirectory;
  /** Settings of a script-only vendor for the browser run (tier auto, the app shell's ready selector). */
  scriptOnlyVendor: (vendor: string) => VendorSettings;
  /** Pages of the throughput run. */
  pages: number;
  progress?: (line: string) => void;
}

/** Pages cycled over the targets, vendors interleaved. */
function cycle<T>(items: T[], n: number): T[] {
  return Array.from({ length: n }, (_, i) => items[i % items.length]);
}

export async function measureBrowserTier(options: BrowserTierOptions) {
  const say = options.progress ?? (() => undefined);
  const as = (tier: VendorSettings['tier']) => (t: Target) => ({ target: t, vendor: { ...options.vendors.get(t.vendor), tier } });
  const pages = cycle(options.targets, options.pages);
  const base = { concurrency: 2, sampleMs: 1000 };

  say(`  http tier: ${pages.length} pages, concurrency 2, one worker process`);
  const http = await inWorker({ ...base, browser: false, jobs: pages.map(as('http')) });
  say(`  browser tier: ${pages.length} pages, pool at its defaults (1 browser, 2 pages, retired after 200 pages), concurrency 2`);
  const browser = await inWorker({ ...base, browser: true, jobs: pages.map(as('browser')) });

  const so = options.scriptOnly;
  say(`  script-only pages: ${so.targets.length} targets (app shell: ${so.appShell.join(', ')}; challenge: ${so.challenge.join(', ')}), http beside the browser`);
  const soHttp = await inWorker({ ...base, browser: false, jobs: so.targets.map((t) => ({ target: t, vendor: { ...options.vendors.get(t.vendor), tier: 'http' as const } })) });
  const soBrowser = await inWorker({ ...base, browser: true, jobs: so.targets.map((t) => ({ target: t, vendor: options.scriptOnlyVendor(t.vendor) })) });

  const leftover = [browser, soBrowser].flatMap((r) => r.leftAfterClose);
  const byVendor = (reads: PageRead[]) => {
    const out: Record<string, Record<string, number>> = {};
    for (const r of reads) {
      const v = (out[r.vendor] ??= {});
      const key = r.price !== null ? 'priced' : (r.outcome ?? r.kind);
      v[key] = (v[key] ?? 0) + 1;
    }
    return out;
  };
  return {
    throughput: {
      pages: pages.length,
      http: { pagesPerSec: http.pagesPerSec, medianPageMs: http.medianPageMs, wallMs: http.wallMs, memory: memoryOf(http, pages.length) },
      browser: { pagesPerSec: browser.pagesPerSec, medianPageMs: browser.medianPageMs, wallMs: browser.wallMs, memory: memoryOf(browser, pages.length), pool: browser.pool },
    },
    accuracy: { http: score(http.reads, options.fleet, options.vendors), browser: score(browser.reads, options.fleet, options.vendors) },
    scriptOnly: {
      appShell: so.appShell,
      challenge: so.challenge,
      http: { ...score(soHttp.reads, so.fleet, options.vendors), byVendor: byVendor(soHttp.reads) },
      browser: {
        ...score(soBrowser.reads, so.fleet, options.vendors),
        byVendor: byVendor(soBrowser.reads),
        pagesPerSec: soBrowser.pagesPerSec,
        medianPageMs: soBrowser.medianPageMs,
        sources: countBy(soBrowser.reads.map((r) => r.source)),
        memory: memoryOf(soBrowser, soBrowser.reads.length),
      },
    },
    chromium: {
      processesSeen: browser.chromiumPids.length + soBrowser.chromiumPids.length,
      leftAfterClose: leftover.length,
      left: leftover,
    },
  };
}

function countBy(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}
