import { randomBytes } from 'node:crypto';
import { loadCatalogue, type Catalogue } from '../catalogue/load.js';
import type { Target } from '../catalogue/target.js';
import { loadConfig } from '../config/env.js';
import { scrapeRowKey } from '../store/price-row.js';
import { scrapeQueueName } from '../../queues/names.js';
import { enqueueScrapesNow } from '../../queues/scrape-now.js';
import type { ScrapeJobResult } from '../../processors/scrape.js';
import { UsageError } from './errors.js';
import { activity, connectRedis, databaseProblem, inspectQueue, OperatorError, openExistingDatabase, printResult, shortReason, suggest, waitForJob, waitForWorkers, workersOf } from './operator.js';

export interface TriggerArgs {
  coin: string;
  vendor: string;
  json: boolean;
  /** How long to wait for the job, in ms. */
  timeoutMs: number;
  /** How long to wait for a worker to be connected to the vendor's queue, in ms. */
  workerWaitMs: number;
}

/** The row as stored, read back from the database by its idempotency key. */
interface StoredRow {
  id: number;
  scraped_at: string;
  window_start: string;
  price: number | null;
  in_stock: number | null;
  outcome: string | null;
  reason: string | null;
  matched_by: string | null;
  source: string;
  confidence: number | null;
  is_failed: number;
}

/** The enabled catalogue target, or a UsageError naming the close matches (or why the entry is not scraped). */
export function findTarget(catalogue: Catalogue, coin: string, vendor: string): Target {
  const found = catalogue.targets.find((t) => t.coin === coin && t.vendor === vendor);
  if (found) return found;
  const coins = Object.keys(catalogue.file.coins).sort();
  const entry = catalogue.file.coins[coin];
  if (!entry) throw new UsageError(`unknown coin "${coin}" in ${catalogue.source}; ${suggest(coin, coins, 'coins')}`);
  const provider = entry.providers.find((p) => p.id === vendor);
  if (provider && !provider.enabled) throw new UsageError(`${vendor} is disabled for ${coin} in ${catalogue.source} (enabled: false): it is not scraped; enable it in the catalogue first`);
  const vendorsOfCoin = entry.providers.filter((p) => p.enabled).map((p) => p.id).sort();
  const allVendors = [...new Set(catalogue.targets.map((t) => t.vendor))].sort();
  if (!allVendors.includes(vendor)) {
    const ofCoin = vendorsOfCoin.join(',') === allVendors.join(',') ? '' : ` (vendors of ${coin}: ${vendorsOfCoin.join(', ') || 'none'})`;
    throw new UsageError(`unknown vendor "${vendor}" in ${catalogue.source}; ${suggest(vendor, allVendors, 'vendors')}${ofCoin}`);
  }
  throw new UsageError(`${vendor} does not sell ${coin} in ${catalogue.source}; vendors of ${coin}: ${vendorsOfCoin.join(', ') || 'none'}`);
}

const money = (n: number | null | undefined) => (n === null || n === undefined ? '-' : `$${Number(n).toFixed(2)}`);
const stock = (s: boolean | number | null | undefined) => (s === null || s === undefined ? 'unknown' : s ? 'in stock' : 'out of stock');

/**
 * `poller trigger <coin> <vendor>`: one scrape of the target now, on its vendor's queue (a batch id of its own),
 * taken by a running worker; waits for it and prints the row written, from the job and the database.
 */
export async function triggerCommand(args: TriggerArgs): Promise<number> {
  const config = loadConfig();
  const catalogue = await loadCatalogue(config.cataloguePath);
  const target = findTarget(catalogue, args.coin, args.vendor);
  const queueName = scrapeQueueName(target.vendor);
  const { redis, display } = await connectRedis(config);
  const queue = inspectQueue(redis, config.redisPrefix, queueName);
  const progress = activity();
  try {
    let workers = await workersOf(queue);
    if (workers === 0) {
      progress.update(`no worker on ${queueName} yet; waiting up to ${Math.round(args.workerWaitMs / 1000)} s`);
      workers = await waitForWorkers(queue, args.workerWaitMs);
      progress.done();
    }
    if (workers === 0) {
      throw new OperatorError(
        `no worker is connected to ${queueName} (Redis ${display}, prefix ${config.redisPrefix}) after ${Math.round(args.workerWaitMs / 1000)} s: nothing would take the job. ` +
          `Start one with the same REDIS_URL, REDIS_PREFIX and CATALOGUE_PATH: poller worker (or poller start), then try again`,
      );
    }
    if (workers === null) process.stderr.write(`poller trigger: this Redis refuses CLIENT LIST, so workers cannot be counted; waiting for the job anyway\n`);
    if (await queue.isPaused()) process.stderr.write(`poller trigger: ${queueName} is paused: the job waits until \`poller resume ${target.vendor}\`\n`);

    const batchId = `trigger-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const ids = await enqueueScrapesNow([target], {
      connection: redis,
      prefix: config.redisPrefix,
      pollerId: config.pollerId,
      policy: { attempts: config.scrapeAttempts, backoffMs: config.scrapeBackoffMs },
      batchId,
    });
    const jobId = ids.get(queueName)![0];
    process.stderr.write(`poller trigger: queued job ${jobId} on ${queueName}\n`);
    let settled;
    try {
      settled = await waitForJob<ScrapeJobResult>(queue, jobId, { timeoutMs: args.timeoutMs, onState: (t) => progress.update(t) });
    } finally {
      progress.done();
    }
    const { job, state } = settled;
    const result = state === 'completed' ? (job.returnvalue as ScrapeJobResult) : null;

    // The row as the database holds it (the worker wrote it before the job ended, unless the database was away).
    let row: StoredRow | null = null;
    let databaseNote: string | null = null;
    let description = config.databaseUrl;
    try {
      const db = openExistingDatabase(config);
      description = db.description;
      try {
        const res = await db.client.execute({ sql: 'SELECT * FROM price_snapshots WHERE idem_key = ?', args: [scrapeRowKey(config.pollerId, jobId)] });
        row = (res.rows[0] as unknown as StoredRow) ?? null;
        if (!row) databaseNote = result?.stored === 'logged' ? 'the database was unreachable: the row waits in the recovery log' : 'no row in the database for this job';
      } catch (err) {
        databaseNote = databaseProblem(err, description);
      } finally {
        db.client.close();
      }
    } catch (err) {
      databaseNote = shortReason(err);
    }

    const price = row ? row.price : (result?.price ?? null);
    const inStock = row ? (row.in_stock === null ? null : row.in_stock === 1) : (result?.inStock ?? null);
    const outcome = row?.outcome ?? result?.outcome ?? (state === 'failed' ? 'failed' : null);
    const reason = row?.reason ?? (state === 'failed' ? job.failedReason : null);
    const ms = job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : null;
    const data = {
      coin: target.coin,
      vendor: target.vendor,
      poller: config.pollerId,
      queue: queueName,
      job: jobId,
      state,
      attempts: job.attemptsMade,
      ms,
      price,
      inStock,
      outcome,
      reason,
      matchedBy: row?.matched_by ?? null,
      scrapedAt: row?.scraped_at ?? null,
      stored: result?.stored ?? null,
      database: description,
      row: row ? { id: Number(row.id), idemKey: scrapeRowKey(config.pollerId, jobId), source: row.source, confidence: row.confidence, failed: Number(row.is_failed) === 1 } : null,
      note: databaseNote,
    };
    const lines = [
      `${target.coin}@${target.vendor} (${config.pollerId}, job ${jobId}): ${state}${ms !== null ? ` in ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}` : ''}, ${job.attemptsMade} attempt${job.attemptsMade === 1 ? '' : 's'}`,
      `  price     ${money(price)}`,
      `  stock     ${stock(inStock)}`,
      `  outcome   ${outcome ?? '-'}`,
      `  reason    ${reason ?? '-'}`,
      row ? `  row       #${row.id} in ${description}, scraped ${row.scraped_at}${row.matched_by ? `, matched by ${row.matched_by}` : ''}` : `  row       ${databaseNote}`,
    ];
    printResult(args.json, data, lines);
    return state === 'completed' ? 0 : 1;
  } finally {
    progress.done();
    await queue.close();
    redis.disconnect();
  }
}
