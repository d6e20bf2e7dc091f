import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BENCH_SECTIONS, runBench, type BenchSection } from '../bench/run-bench.js';
import { demoCommand } from './demo-command.js';
import { reportError, UsageError } from './errors.js';
import { exportCommand } from './export-command.js';
import { extractCommand } from './extract-command.js';
import { fleetCommand } from './fleet-command.js';
import { importLogCommand } from './import-log-command.js';
import { runRoles } from './run-roles.js';
import { statusCommand } from './status-command.js';

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

const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run one poller with every role in one process (scheduler, worker, exporter, merger, api)',
    usage: 'poller start',
    help: `Reconciles job schedulers with the catalogue, runs the scrape workers of every vendor, the exporter
(this poller's branch), the merger (main) and the API (health and status) in one process. Without REDIS_URL it uses 127.0.0.1:6379 or starts a private
redis-server. SIGTERM or Ctrl-C: stop taking jobs, finish or hand back running ones, exit 0.
${ENV_NOTE}`,
    run: () => runRoles(['scheduler', 'worker', 'exporter', 'merger', 'api'], 'start'),
  },
  scheduler: {
    summary: 'keep BullMQ job schedulers equal to the catalogue (one per enabled coin x vendor)',
    usage: 'poller scheduler',
    help: `Reconciles at start and whenever the catalogue file changes; a broken edit is refused and the last
good catalogue stays in force. Safe to run twice at once. ${ENV_NOTE}`,
    run: () => runRoles(['scheduler'], 'scheduler'),
  },
  worker: {
    summary: 'run scrape workers, one per vendor queue (scale out: docker compose up --scale worker=N)',
    usage: 'poller worker',
    help: `Takes jobs from scrape.{vendor} queues with each vendor's concurrency and rate limit, writes every row
to the recovery log and the database. ${ENV_NOTE}`,
    run: () => runRoles(['worker'], 'worker'),
  },
  api: {
    summary: 'serve /healthz and /status over HTTP (API_HOST:API_PORT)',
    usage: 'poller api',
    help: `GET /healthz answers 200 when the database answers, 503 otherwise; GET /status gives row counts and
failing targets. ${ENV_NOTE}`,
    run: () => runRoles(['api'], 'api'),
  },
  exporter: {
    summary: 'export this poller\'s data/ tree and publish it on its branch (apiN), throttled',
    usage: 'poller exporter',
    help: `Takes export jobs of this poller (asked for by every written row, at most one per
EXPORT_MIN_INTERVAL_MS, and by a safety-net scheduler every EXPORT_EVERY_MINUTES), builds the data/ tree
from the database incrementally, checks every file against the contract, commits it whole on branch
POLLER_ID and force-pushes it to API_DATA_REPO, then asks for a merge. ${ENV_NOTE}`,
    run: () => runRoles(['exporter'], 'exporter'),
  },
  merger: {
    summary: 'merge the poller branches (PUBLISH_BRANCHES) into main, after exports and every 5 minutes',
    usage: 'poller merger',
    help: `Fetches api1..apiN, unions them (newest entry per vendor wins, medians recomputed), skips a branch
that is missing or invalid, writes the SQLite snapshot at most every SNAPSHOT_EVERY_HOURS, and pushes main
with a lease so that two mergers never overwrite each other. ${ENV_NOTE}`,
    run: () => runRoles(['merger'], 'merger'),
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
    run: (v) => {
      if (!v.out) throw new UsageError('--out DIR is required');
      return exportCommand({ out: v.out as string, pollerId: v.all ? null : ((v.poller as string | undefined) ?? undefined) });
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
    run: (v, p) => {
      if (p.length !== 1) throw new UsageError('give one file or folder: poller import-log <file|folder>');
      return importLogCommand({ path: p[0], dryRun: !!v['dry-run'], legacyPollerId: v['legacy-poller'] as string | undefined });
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
    run: (v) => {
      if (!v.vendor || !v.coin) throw new UsageError('--vendor and --coin are required');
      return extractCommand({
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
    run: (v) =>
      fleetCommand({
        port: intArg(v.port, 'port', 0),
        catalogue: (v.catalogue as string) ?? 'config/providers.json',
        latencyMs: rangeArg(v['latency-ms'], [0, 0]),
        writeCatalogue: v['write-catalogue'] as string | undefined,
      }),
  },
  demo: {
    summary: 'three pollers against the local fleet and one database, with a live summary',
    usage: 'poller demo [--once] [--workdir DIR] [--pollers N] [--interval-minutes M] [--latency-ms MIN-MAX]',
    help: `Starts the vendor fleet, the real catalogue pointed at it, and pollers api1..apiN (staggered) writing to
DIR/prices.db, with recovery logs in DIR/recovery/. Prints a summary every 5 s until Ctrl-C.
  --once                 scrape every target once per poller, wait until all jobs settled, exit 0
  --workdir DIR          default var/demo
  --pollers N            default 3
  --interval-minutes M   scrape interval per target, default 2 (production default is 15)
  --latency-ms MIN-MAX   fleet page latency, default 200-1500 (50-300 with --once)
  --catalogue PATH       default config/providers.json`,
    options: {
      once: { type: 'boolean' }, workdir: { type: 'string' }, pollers: { type: 'string' }, 'interval-minutes': { type: 'string' },
      'latency-ms': { type: 'string' }, catalogue: { type: 'string' },
    },
    run: (v) =>
      demoCommand({
        once: !!v.once,
        workdir: (v.workdir as string) ?? 'var/demo',
        pollers: intArg(v.pollers, 'pollers', 3, 1, 9),
        intervalMinutes: intArg(v['interval-minutes'], 'interval-minutes', 2, 1, 1440),
        latencyMs: rangeArg(v['latency-ms'], v.once ? [50, 300] : [200, 1500]),
        catalogue: (v.catalogue as string) ?? 'config/providers.json',
      }),
  },
  bench: {
    summary: 'measure throughput, cycle time (also under faults), freshness, export and scale-out; writes bench/results.json',
    usage: 'poller bench [--quick] [--out FILE] [--only SECTIONS] [--jobs N] [--latency-ms MIN-MAX] [--processes 1,2,4] [--days D]',
    help: `Runs the system on this machine against the local vendor fleet and prints each figure beside the
reference measured in the same run. Never part of npm test. Default about 11 minutes, --quick about 3.
  --quick                smaller sizes
  --out FILE             default bench/results.json
  --only SECTIONS        comma-separated: ${BENCH_SECTIONS.join(',')}
  --jobs N               jobs per throughput measurement (default 2000, quick 400)
  --latency-ms MIN-MAX   page latency of the two cycle runs (default 1000-3000, quick 100-300)
  --processes LIST       worker processes of the scale-out run (default 1,2,4)
  --days D               days of generated history for the export run (default 30, quick 3)
  --catalogue PATH       default config/providers.json`,
    options: {
      quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' }, jobs: { type: 'string' },
      'latency-ms': { type: 'string' }, processes: { type: 'string' }, days: { type: 'string' }, catalogue: { type: 'string' },
    },
    run: async (v) => {
      const only = v.only === undefined ? undefined : String(v.only).split(',').map((s) => s.trim());
      const unknown = only?.filter((s) => !(BENCH_SECTIONS as readonly string[]).includes(s));
      if (unknown?.length) throw new UsageError(`--only: unknown section ${unknown.join(', ')}; expected some of ${BENCH_SECTIONS.join(',')}`);
      const processes = v.processes === undefined ? undefined : String(v.processes).split(',').map((n) => intArg(n, 'processes', 1, 1, 32));
      await runBench({
        quick: !!v.quick,
        out: (v.out as string) ?? 'bench/results.json',
        catalogue: (v.catalogue as string) ?? 'config/providers.json',
        only: only as BenchSection[] | undefined,
        jobs: v.jobs === undefined ? undefined : intArg(v.jobs, 'jobs', 0, 1, 1_000_000),
        latencyMs: v['latency-ms'] === undefined ? undefined : rangeArg(v['latency-ms'], [0, 0]),
        processes,
        days: v.days === undefined ? undefined : intArg(v.days, 'days', 30, 1, 365),
      });
      return 0;
    },
  },
  status: {
    summary: 'row counts and failing targets from the database',
    usage: 'poller status [--json]',
    help: `Reads TURSO_DATABASE_URL and prints rows per poller and the targets whose last scrapes failed. ${ENV_NOTE}`,
    options: { json: { type: 'boolean' } },
    run: (v) => statusCommand(!!v.json),
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
    return reportError(err, name);
  }
}
