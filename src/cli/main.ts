import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BENCH_SECTIONS, type BenchSection } from '../bench/sections.js';
import { scrubSecrets } from '../log.js';
import { OperatorError, reportError, UsageError } from './errors.js';
import { FEED_JOBS, type FeedJobChoice } from './feed-job-choice.js';

// Each command's module is imported when the command runs: `poller X --help` and a short command load only what they use.

type Values = Record<string, string | boolean | undefined>;

interface Command {
  summary: string;
  usage: string;
  /** Longer help: options and what the command does. */
  help: string;
  options?: ParseArgsConfig['options'];
  positionals?: boolean;
  run(values: Values, positionals: string[]): Promise<number>;
}

const ENV_NOTE = 'Configuration comes from environment variables (see README.md, Configuration).';

/** The operator's commands talk to the poller's Redis; how they find it. */
const REDIS_NOTE = `Redis: REDIS_URL, else 127.0.0.1:6379 (never a private one: point REDIS_URL at the poller's Redis), keys under
REDIS_PREFIX (default bull; the demo uses demo:apiN).`;

/** Options of the commands that wait for a job. */
const WAIT_OPTIONS = { json: { type: 'boolean' }, timeout: { type: 'string' }, 'wait-worker': { type: 'string' } } as const;

const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run one poller with every role in one process (scheduler, worker, exporter, merger, api)',
    usage: 'poller start',
    help: `Reconciles job schedulers with the catalogue, runs the scrape workers of every vendor, the exporter
(this poller's branch), the merger (main) and the API (health and status) in one process. Without REDIS_URL it uses 127.0.0.1:6379 or starts a private
redis-server. SIGTERM or Ctrl-C: stop taking jobs, finish or hand back running ones, exit 0.
${ENV_NOTE}`,
    run: async () => (await import('./run-roles.js')).runRoles(['scheduler', 'worker', 'exporter', 'merger', 'api'], 'start'),
  },
  scheduler: {
    summary: 'keep BullMQ job schedulers equal to the catalogue (one per enabled coin x vendor)',
    usage: 'poller scheduler',
    help: `Reconciles at start and whenever the catalogue file changes; a broken edit is refused and the last
good catalogue stays in force. Safe to run twice at once. ${ENV_NOTE}`,
    run: async () => (await import('./run-roles.js')).runRoles(['scheduler'], 'scheduler'),
  },
  worker: {
    summary: 'run scrape workers, one per vendor queue (scale out: docker compose up --scale worker=N)',
    usage: 'poller worker',
    help: `Takes jobs from scrape.{vendor} queues with each vendor's concurrency and rate limit, writes every row
to the recovery log and the database. ${ENV_NOTE}`,
    run: async () => (await import('./run-roles.js')).runRoles(['worker'], 'worker'),
  },
  api: {
    summary: 'serve /healthz and /status over HTTP (API_HOST:API_PORT)',
    usage: 'poller api',
    help: `GET /healthz answers 200 when the database answers, 503 otherwise; GET /status gives row counts and
failing targets. ${ENV_NOTE}`,
    run: async () => (await import('./run-roles.js')).runRoles(['api'], 'api'),
  },
  exporter: {
    summary: 'export this poller\'s data/ tree and publish it on its branch (apiN), throttled',
    usage: 'poller exporter',
    help: `Takes export jobs of this poller (asked for by every written row, at most one per
EXPORT_MIN_INTERVAL_MS, and by a safety-net scheduler every EXPORT_EVERY_MINUTES), builds the data/ tree
from the database incrementally, checks every file against the contract, commits it whole on branch
POLLER_ID and force-pushes it to API_DATA_REPO, then asks for a merge. ${ENV_NOTE}`,
    run: async () => (await import('./run-roles.js')).runRoles(['exporter'], 'exporter'),
  },
  merger: {
    summary: 'merge the poller branches (PUBLISH_BRANCHES) into main, after exports and every 5 minutes',
    usage: 'poller merger',
    help: `Fetches api1..apiN, unions them (newest entry per vendor wins, medians recomputed), skips a branch
that is missing or invalid, writes the SQLite snapshot at most every SNAPSHOT_EVERY_HOURS, and pushes main
with a lease so that two mergers never overwrite each other. ${ENV_NOTE}`,
    run: async () => (await import('./run-roles.js')).runRoles(['merger'], 'merger'),
  },
  export: {
    summary: 'write one poller\'s data/ tree into a folder, without git',
    usage: 'poller export --out DIR [--poller ID | --all]',
    help: `Reads TURSO_DATABASE_URL and writes DIR/data/api/... exactly as the exporter would publish it (every
file checked against the contract). For people who want to look.
  --out DIR      the folder (created)
  --poller ID    whose rows (default POLLER_ID)
  --all          every poller's rows together`,
    options: { out: { type: 'string' }, poller: { type: 'string' }, all: { type: 'boolean' } },
    run: async (v) => {
      if (!v.out) throw new UsageError('--out DIR is required');
      return (await import('./export-command.js')).exportCommand({ out: v.out as string, pollerId: v.all ? null : ((v.poller as string | undefined) ?? undefined) });
    },
  },
  'import-log': {
    summary: 'import recovery logs (this format or the old one) into the database, idempotently',
    usage: 'poller import-log <file|folder> [--dry-run] [--legacy-poller ID]',
    help: `Reads prices-YYYY-MM-DD.jsonl files (a file, or every *.jsonl of a folder) in order and writes rows the
database does not have yet; importing twice adds nothing. Old-format lines
({scraped_at, window_start, coin_slug, vendor, price, source, in_stock}) are read too.
  --dry-run            parse and count what would be added; write nothing
  --legacy-poller ID   poller_id for old-format rows (default: legacy)
Prints a JSON report (files, rows, added, alreadyPresent, skipped) on stdout, progress on stderr.`,
    options: { 'dry-run': { type: 'boolean' }, 'legacy-poller': { type: 'string' } },
    positionals: true,
    run: async (v, p) => {
      if (p.length !== 1) throw new UsageError('give one file or folder: poller import-log <file|folder>');
      return (await import('./import-log-command.js')).importLogCommand({ path: p[0], dryRun: !!v['dry-run'], legacyPollerId: v['legacy-poller'] as string | undefined });
    },
  },
  extract: {
    summary: 'read price and stock from a saved page or a URL; prints one JSON object',
    usage: 'poller extract --vendor V --coin C (--file page.html | --url URL)',
    help: `Runs the extractor the workers use and prints {price, inStock, outcome, matchedBy, reason}.
Exit status 0 whatever the outcome.
  --vendor V           vendor id (its rules come from config/vendors.json)
  --coin C             catalogue slug (metal and weight from the catalogue)
  --file F | --url U   the page
  --catalogue PATH     default: CATALOGUE_PATH or config/providers.json
  --metal M --weight W for a product outside the catalogue`,
    options: {
      vendor: { type: 'string' }, coin: { type: 'string' }, file: { type: 'string' }, url: { type: 'string' },
      catalogue: { type: 'string' }, metal: { type: 'string' }, weight: { type: 'string' },
    },
    run: async (v) => {
      if (!v.vendor || !v.coin) throw new UsageError('--vendor and --coin are required');
      return (await import('./extract-command.js')).extractCommand({
        vendor: v.vendor as string, coin: v.coin as string, file: v.file as string | undefined, url: v.url as string | undefined,
        catalogue: (v.catalogue as string) ?? process.env.CATALOGUE_PATH ?? 'config/providers.json',
        vendors: process.env.VENDORS_PATH ?? 'config/vendors.json', metal: v.metal as string | undefined, weight: v.weight as string | undefined,
      });
    },
  },
  fleet: {
    summary: 'serve the local vendor fleet (realistic dealer pages with controllable faults)',
    usage: 'poller fleet [--port N] [--catalogue PATH] [--latency-ms MIN-MAX] [--write-catalogue FILE]',
    help: `Serves a product page for every target of the catalogue under http://127.0.0.1:PORT/{vendor}/{path}.
Admin endpoints: GET /_fleet/health, /_fleet/stats, /_fleet/truth?vendor=&coin=; POST /_fleet/target,
/_fleet/vendor, /_fleet/chaos, /_fleet/reset (see README.md).
  --port N               default 0 (a free port)
  --catalogue PATH       default config/providers.json
  --latency-ms MIN-MAX   per-request delay, default 0-0
  --write-catalogue FILE write the catalogue rewritten to point at the fleet`,
    options: { port: { type: 'string' }, catalogue: { type: 'string' }, 'latency-ms': { type: 'string' }, 'write-catalogue': { type: 'string' } },
    run: async (v) =>
      (await import('./fleet-command.js')).fleetCommand({
        port: intArg(v.port, 'port', 0),
        catalogue: (v.catalogue as string) ?? 'config/providers.json',
        latencyMs: rangeArg(v['latency-ms'], [0, 0]),
        writeCatalogue: v['write-catalogue'] as string | undefined,
      }),
  },
  demo: {
    summary: 'three pollers against the local fleet and one database, with a live summary',
    usage: 'poller demo [--once] [--vision] [--workdir DIR] [--pollers N] [--interval-minutes M] [--latency-ms MIN-MAX] [--catalogue PATH]',
    help: `Starts the vendor fleet, the real catalogue pointed at it, and pollers api1..apiN (staggered) writing to
DIR/prices.db, with recovery logs in DIR/recovery/. Prints a summary every 5 s until Ctrl-C.
  --once                 scrape every target once per poller, wait until all jobs settled, exit 0
  --vision               a second reader: each page's screenshot read through Gemini's protocol, by a local
                         server that answers from the fleet (or Gemini itself with GEMINI_API_KEY and
                         GEMINI_BASE_URL set), reconciled with the text scrape
  --workdir DIR          default var/demo
  --pollers N            default 3
  --interval-minutes M   scrape interval per target, default 2 (production default is 15)
  --latency-ms MIN-MAX   fleet page latency, default 200-1500 (50-300 with --once)
  --catalogue PATH       default config/providers.json`,
    options: {
      once: { type: 'boolean' }, vision: { type: 'boolean' }, workdir: { type: 'string' }, pollers: { type: 'string' }, 'interval-minutes': { type: 'string' },
      'latency-ms': { type: 'string' }, catalogue: { type: 'string' },
    },
    run: async (v) =>
      (await import('./demo-command.js')).demoCommand({
        once: !!v.once,
        vision: !!v.vision,
        workdir: (v.workdir as string) ?? 'var/demo',
        pollers: intArg(v.pollers, 'pollers', 3, 1, 9),
        intervalMinutes: intArg(v['interval-minutes'], 'interval-minutes', 2, 1, 1440),
        latencyMs: rangeArg(v['latency-ms'], v.once ? [50, 300] : [200, 1500]),
        catalogue: (v.catalogue as string) ?? 'config/providers.json',
      }),
  },
  bench: {
    summary: 'measure throughput, cycle time (also under faults), freshness, export and scale-out; writes bench/results.json',
    usage: 'poller bench [--quick] [--out FILE] [--only SECTIONS] [--jobs N] [--latency-ms MIN-MAX] [--processes 1,2,4] [--days D] [--scale N] [--soak-minutes M]',
    help: `Runs the system on this machine against the local vendor fleet and prints each figure beside the
reference measured in the same run. Never part of npm test. Default about 11 minutes, --quick about 3.
Every section but the soak runs by default; the soak (30 minutes) runs when named: --only soak.
  --quick                smaller sizes
  --out FILE             default bench/results.json
  --only SECTIONS        comma-separated: ${BENCH_SECTIONS.join(',')}
  --jobs N               jobs per throughput measurement (default 2000, quick 400)
  --latency-ms MIN-MAX   page latency of the two cycle runs (default 1000-3000, quick 100-300)
  --processes LIST       worker processes of the scale-out run (default 1,2,4)
  --days D               days of generated history for the export run (default 30, quick 3)
  --scale N              also run the export and freshness sections with the catalogue copied N times, beside 1x (default 1)
  --soak-minutes M       length of the soak (default 30)
  --catalogue PATH       default config/providers.json`,
    options: {
      quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' }, jobs: { type: 'string' },
      'latency-ms': { type: 'string' }, processes: { type: 'string' }, days: { type: 'string' }, catalogue: { type: 'string' },
      'soak-minutes': { type: 'string' }, scale: { type: 'string' },
    },
    run: async (v) => {
      const only = v.only === undefined ? undefined : String(v.only).split(',').map((s) => s.trim());
      const unknown = only?.filter((s) => !(BENCH_SECTIONS as readonly string[]).includes(s));
      if (unknown?.length) throw new UsageError(`--only: unknown section ${unknown.join(', ')}; expected some of ${BENCH_SECTIONS.join(',')}`);
      const processes = v.processes === undefined ? undefined : String(v.processes).split(',').map((n) => intArg(n, 'processes', 1, 1, 32));
      await (await import('../bench/run-bench.js')).runBench({
        quick: !!v.quick,
        out: (v.out as string) ?? 'bench/results.json',
        catalogue: (v.catalogue as string) ?? 'config/providers.json',
        only: only as BenchSection[] | undefined,
        jobs: v.jobs === undefined ? undefined : intArg(v.jobs, 'jobs', 0, 1, 1_000_000),
        latencyMs: v['latency-ms'] === undefined ? undefined : rangeArg(v['latency-ms'], [0, 0]),
        processes,
        days: v.days === undefined ? undefined : intArg(v.days, 'days', 30, 1, 365),
        soakMinutes: v['soak-minutes'] === undefined ? undefined : intArg(v['soak-minutes'], 'soak-minutes', 30, 1, 24 * 60),
        scale: v.scale === undefined ? undefined : intArg(v.scale, 'scale', 1, 1, 100),
      });
      return 0;
    },
  },
  status: {
    summary: 'row counts, targets and failing targets from the database',
    usage: 'poller status [--json]',
    help: `Reads TURSO_DATABASE_URL and prints rows per poller, the targets seen (each coin x vendor once, and per
poller) and the targets whose last scrapes failed. It reads only: a file: database that does not exist is an
error naming it (nothing is created) and nothing is migrated. A demo's database:
  TURSO_DATABASE_URL=file:/tmp/demo/prices.db poller status
  --json   one JSON object: counts, targets, failingTargets, targetsByPoller, failing, blockedVendors
${ENV_NOTE}`,
    options: { json: { type: 'boolean' } },
    run: async (v) => (await import('./status-command.js')).statusCommand(!!v.json),
  },
  queues: {
    summary: 'jobs per queue and state, job schedulers, connected workers, paused or not',
    usage: 'poller queues [--json]',
    help: `Every queue of the poller: scrape.{vendor} of the catalogue, export.{POLLER_ID}, merge, and any other queue
under REDIS_PREFIX (found with SCAN). Per queue: waiting, active, delayed, failed and completed jobs, job
schedulers, workers connected (CLIENT LIST) and whether it is paused. Reads only.
  --json   one JSON object (per queue: counts by BullMQ state, scheduler ids, workers, paused)
${REDIS_NOTE}`,
    options: { json: { type: 'boolean' } },
    run: async (v) => (await import('./queues-command.js')).queuesCommand(!!v.json),
  },
  trigger: {
    summary: 'scrape one target now on its vendor queue, wait for it, print the row written',
    usage: 'poller trigger <coin> <vendor> [--json] [--timeout SECONDS] [--wait-worker SECONDS]',
    help: `Adds one scrape job of the catalogue's coin x vendor (POLLER_ID's, with a batch id of its own) to
scrape.{vendor}; a running worker (poller worker or poller start) takes it. Waits for it and prints price,
stock, outcome and reason of the row written, from the job and the database (TURSO_DATABASE_URL). A paused queue
holds the job until poller resume <vendor>. Exit 0 when the scrape succeeded, 1 when it failed, when no
worker is connected or when the job did not end in time (it stays queued), 2 for an unknown coin or vendor.
  --timeout S       how long to wait for the job (default 120)
  --wait-worker S   how long to wait for a worker to be connected to the queue (default 5)
  --json            one JSON object
${REDIS_NOTE}`,
    options: WAIT_OPTIONS,
    positionals: true,
    run: async (v, p) => {
      if (p.length !== 2) throw new UsageError(`give a coin and a vendor, e.g. poller trigger ase apmex\nusage: ${COMMANDS.trigger.usage}`);
      return (await import('./trigger-command.js')).triggerCommand({
        coin: p[0], vendor: p[1], json: !!v.json,
        timeoutMs: secondsArg(v.timeout, 'timeout', 120, COMMANDS.trigger.usage),
        workerWaitMs: secondsArg(v['wait-worker'], 'wait-worker', 5, COMMANDS.trigger.usage),
      });
    },
  },
  pause: {
    summary: "pause a vendor's scrape queue (workers take none of its jobs until resume)",
    usage: 'poller pause <vendor> [--json]',
    help: `BullMQ Queue.pause() of scrape.{vendor}: workers take no new job from it (running ones finish), the
schedulers keep adding jobs, which wait. Prints the new state. Undo with poller resume <vendor>.
  --json   one JSON object
${REDIS_NOTE}`,
    options: { json: { type: 'boolean' } },
    positionals: true,
    run: async (v, p) => {
      if (p.length !== 1) throw new UsageError(`give one vendor, e.g. poller pause apmex\nusage: ${COMMANDS.pause.usage}`);
      return (await import('./pause-command.js')).pauseCommand(p[0], !!v.json);
    },
  },
  resume: {
    summary: "resume a vendor's paused scrape queue",
    usage: 'poller resume <vendor> [--json]',
    help: `BullMQ Queue.resume() of scrape.{vendor}: workers take its waiting jobs again. Prints the new state.
  --json   one JSON object
${REDIS_NOTE}`,
    options: { json: { type: 'boolean' } },
    positionals: true,
    run: async (v, p) => {
      if (p.length !== 1) throw new UsageError(`give one vendor, e.g. poller resume apmex\nusage: ${COMMANDS.resume.usage}`);
      return (await import('./resume-command.js')).resumeCommand(p[0], !!v.json);
    },
  },
  'export-now': {
    summary: "export this poller's branch now through its export queue; prints the commit",
    usage: 'poller export-now [--json] [--timeout SECONDS] [--wait-worker SECONDS]',
    help: `Asks for an export of POLLER_ID on export.{POLLER_ID} (cause manual, no delay; an export already pending
carries the request and is made due now). A running exporter (poller exporter or poller start) takes it; with
none connected the command says so and exits 1. Prints the commit on branch POLLER_ID: its sha, or "nothing
changed", and how long it took.
  --timeout S       how long to wait for the export (default 300; a failed attempt is retried by BullMQ)
  --wait-worker S   how long to wait for an exporter to be connected (default 5)
  --json            one JSON object
${REDIS_NOTE}`,
    options: WAIT_OPTIONS,
    run: async (v) =>
      (await import('./export-now-command.js')).exportNowCommand({
        json: !!v.json,
        timeoutMs: secondsArg(v.timeout, 'timeout', 300, COMMANDS['export-now'].usage),
        workerWaitMs: secondsArg(v['wait-worker'], 'wait-worker', 5, COMMANDS['export-now'].usage),
      }),
  },
  'merge-now': {
    summary: 'merge the poller branches into main now through the merge queue; prints the commit',
    usage: 'poller merge-now [--json] [--timeout SECONDS] [--wait-worker SECONDS]',
    help: `Asks for a merge of PUBLISH_BRANCHES into main on the merge queue (cause manual; a merge already pending
carries the request and is made due now). A running merger (poller merger or poller start) takes it; with none
connected the command says so and exits 1. Prints the commit on main (sha or "nothing changed"), the branches
merged and skipped, and how long it took.
  --timeout S       how long to wait for the merge (default 300)
  --wait-worker S   how long to wait for a merger to be connected (default 5)
  --json            one JSON object
${REDIS_NOTE}`,
    options: WAIT_OPTIONS,
    run: async (v) =>
      (await import('./merge-now-command.js')).mergeNowCommand({
        json: !!v.json,
        timeoutMs: secondsArg(v.timeout, 'timeout', 300, COMMANDS['merge-now'].usage),
        workerWaitMs: secondsArg(v['wait-worker'], 'wait-worker', 5, COMMANDS['merge-now'].usage),
      }),
  },
  'feed-now': {
    summary: 'run one feed job now (spot-latest, spot-backfill, spot-history, goldback, sync); prints its summary',
    usage: `poller feed-now <${FEED_JOBS.join('|')}> [--json] [--timeout SECONDS] [--wait-worker SECONDS]`,
    help: `Adds the job to the spot queue (the sync to the sync queue), cause manual, one attempt, and waits for a running
worker (poller worker or poller start) to take it. spot-latest polls MetalPriceAPI for the current window (and
the daily seed from 17:00 UTC); spot-backfill fills the hours of the last SPOT_BACKFILL_HOURS without data;
spot-history brings spot-history-YYYY.json up to yesterday; goldback reads the official Goldback rate again
(also when today's is stored); sync copies the data/ files one API repository lacks from the other (needs
SYNC_FALLBACK_REPO). A job that wrote something asks for an export, so the files reach main shortly after.
  --timeout S       how long to wait for the job (default 300)
  --wait-worker S   how long to wait for a worker to be connected (default 5)
  --json            one JSON object
${REDIS_NOTE}`,
    options: WAIT_OPTIONS,
    positionals: true,
    run: async (v, positionals) => {
      const usage = COMMANDS['feed-now'].usage;
      const [job, ...extra] = positionals;
      if (!job || extra.length || !(FEED_JOBS as readonly string[]).includes(job)) {
        throw new OperatorError(`expected one feed job, one of ${FEED_JOBS.join(', ')}${job ? ` (not ${JSON.stringify(job)})` : ''}\nusage: ${usage}`, 2);
      }
      return (await import('./feed-now-command.js')).feedNowCommand(job as FeedJobChoice, {
        json: !!v.json,
        timeoutMs: secondsArg(v.timeout, 'timeout', 300, usage),
        workerWaitMs: secondsArg(v['wait-worker'], 'wait-worker', 5, usage),
      });
    },
  },
  'retry-failed': {
    summary: 'retry the failed scrape jobs of one vendor or of every vendor',
    usage: 'poller retry-failed [vendor] [--json]',
    help: `BullMQ Queue.retryJobs({state: 'failed'}) on scrape.{vendor}, or on every scrape queue (the catalogue's and
those under REDIS_PREFIX): failed jobs go back to waiting and workers take them again. Prints how many.
Rows are keyed by their job: a retry that succeeds replaces the failed row its job stored, and clears the
target's failure streak (a failed retry changes nothing).
  --json   one JSON object
${REDIS_NOTE}`,
    options: { json: { type: 'boolean' } },
    positionals: true,
    run: async (v, p) => {
      if (p.length > 1) throw new UsageError(`give at most one vendor\nusage: ${COMMANDS['retry-failed'].usage}`);
      return (await import('./retry-failed-command.js')).retryFailedCommand(p[0], !!v.json);
    },
  },
  'init-remote': {
    summary: 'create the local bare repository the exporter and merger publish to (API_DATA_REPO, or PATH)',
    usage: 'poller init-remote [PATH]',
    help: `Creates a bare git repository (default branch main) at PATH, else at API_DATA_REPO (default var/remote.git).
No poller creates its remote as it starts: a remote that is missing is a publish failure (logged, counted,
shown on /healthz and the status page, retried), never a new empty history in place of the real one. Does
nothing when the path exists; refuses a URL (create that repository on its host).`,
    options: {},
    positionals: true,
    run: async (_v, p) => {
      if (p.length > 1) throw new UsageError(`give at most one path\nusage: ${COMMANDS['init-remote'].usage}`);
      return (await import('./init-remote-command.js')).initRemoteCommand(p[0]);
    },
  },
  doctor: {
    summary: 'check Redis, database, git remote, Chromium, catalogue and clock; say how to fix what fails',
    usage: 'poller doctor [--json]',
    help: `One line per check, ok or FAIL with how to fix it; exit 1 when one fails. Reads only: creates, migrates
and pushes nothing.
  config      the environment variables are valid
  redis       REDIS_URL (else 127.0.0.1:6379) answers, and its maxmemory-policy is noeviction
  database    TURSO_DATABASE_URL answers (with TURSO_AUTH_TOKEN) and every migration is applied
  git remote  API_DATA_REPO answers git ls-remote with its credentials (GITHUB_TOKEN, never printed)
  chromium    CHROMIUM_PATH, else chromium or chromium-browser on PATH, runs --version
  catalogue   CATALOGUE_PATH is a valid catalogue with enabled targets
  clock       this host's clock is within 30 s of the Redis server's TIME
  --json      {ok, checks: [{name, status, detail, fix}]}`,
    options: { json: { type: 'boolean' } },
    run: async (v) => (await import('./doctor-command.js')).doctorCommand(!!v.json),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'poller: the StakTrakr poller fleet (scrape dealer prices, store them, publish them)',
    '',
    'usage: poller <command> [options]     poller <command> --help',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    ENV_NOTE,
  ].join('\n');
}

/** Seconds option to ms, for --timeout and --wait-worker. */
function secondsArg(raw: unknown, name: string, fallback: number, usage: string): number {
  if (raw === undefined) return fallback * 1000;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new UsageError(`--${name} must be a number of seconds from 0 to 86400\nusage: ${usage}`);
  return Math.round(n * 1000);
}

function intArg(raw: unknown, name: string, fallback: number, min = 0, max = 65535): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

function rangeArg(raw: unknown, fallback: [number, number]): [number, number] {
  if (raw === undefined) return fallback;
  const m = /^(\d+)(?:-(\d+))?$/.exec(String(raw));
  if (!m) throw new UsageError('--latency-ms must be MIN-MAX in milliseconds, e.g. 200-1500');
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (max < min) throw new UsageError('--latency-ms: MAX must be at least MIN');
  return [min, max];
}

/** Entry point of the `poller` program. Returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic && COMMANDS[topic]) return main([topic, '--help']);
    process.stdout.write(usage() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`poller: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n\n${command.summary}\n\n${command.help}\n`);
    return 0;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: !!command.positionals, strict: true });
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\nusage: ${command.usage}`);
    }
    return await command.run(parsed.values as Values, parsed.positionals);
  } catch (err) {
    // The operator's commands: what could not be done, in one line, and their own exit status.
    if (err instanceof OperatorError) {
      process.stderr.write(`poller ${name}: ${scrubSecrets(err.message)}\n`);
      return err.exitCode;
    }
    return reportError(err, name);
  }
}
