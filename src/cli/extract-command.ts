import { open } from 'node:fs/promises';
import { loadCatalogue } from '../catalogue/load.js';
import { METALS, type Metal, type ProductIdentity } from '../catalogue/target.js';
import { httpFetchOptionsOf, loadVendorDirectory } from '../config/vendors.js';
import { extractPrice, MAX_HTML_CHARS } from '../scrape/extract/extract.js';
import type { ExtractResult } from '../scrape/extract/types.js';
import { fetchPage, isFetchError } from '../scrape/fetch/http-fetch.js';
import { UsageError } from './errors.js';
import { parseSpotPrices } from '../config/env.js';
import { spotFor } from '../scrape/sanity.js';

export interface ExtractArgs {
  vendor: string;
  coin: string;
  file?: string;
  url?: string;
  catalogue: string;
  vendors: string;
  metal?: string;
  weight?: string;
}

/**
 * `poller extract`: exactly one JSON object on stdout, {price, inStock, outcome, matchedBy, reason},
 * and exit 0 whatever the page turns out to be (garbage, empty, 10 MB, a challenge page). Only
 * what a person must fix is an error: bad arguments, an unreadable file, an unreachable URL.
 */
export async function extractCommand(args: ExtractArgs): Promise<number> {
  if (!args.file === !args.url) throw new UsageError('give exactly one of --file PAGE.html or --url URL');
  const product = await productFor(args);
  const vendor = (await loadVendorDirectory(args.vendors, 1)).get(args.vendor);
  let html: string;
  let status: number | undefined;
  let url: string | undefined;
  if (args.file) {
    html = await readPageFile(args.file);
  } else {
    try {
      const page = await fetchPage(args.url!, httpFetchOptionsOf(vendor));
      ({ body: html, status, url } = page);
    } catch (err) {
      if (isFetchError(err)) throw new UsageError(`could not fetch the page: ${err.kind}: ${err.message}`);
      throw err;
    }
  }
  const spotUsdPerOz = spotFor(product.metal, parseSpotPrices(process.env.SPOT_USD_PER_OZ));
  const result = extractPrice({ html, status, url, vendor: args.vendor, product, rules: vendor.rules, spotUsdPerOz });
  const out: ExtractResult = { price: result.price, inStock: result.inStock, outcome: result.outcome, matchedBy: result.matchedBy, reason: result.reason };
  process.stdout.write(JSON.stringify(out) + '\n');
  return 0;
}

/** The page file as text, at most what the extractor reads (a 2 GB file is not loaded whole). */
async function readPageFile(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UsageError(`${path} is not a file`);
    // UTF-8 takes at most 4 bytes a character; reading this much always covers MAX_HTML_CHARS characters.
    const limit = Math.min(stat.size, MAX_HTML_CHARS * 4);
    const buf = Buffer.alloc(limit);
    let read = 0;
    while (read < limit) {
      const { bytesRead } = await handle.read(buf, read, limit - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return buf.subarray(0, read).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function productFor(args: ExtractArgs): Promise<ProductIdentity> {
  if (args.metal || args.weight) {
    if (!METALS.includes(args.metal as Metal)) throw new UsageError(`--metal must be one of ${METALS.join(', ')}`);
    const weightOz = Number(args.weight ?? '1');
    if (!(weightOz > 0)) throw new UsageError('--weight must be troy ounces > 0');
    return { coin: args.coin, coinName: args.coin, metal: args.metal as Metal, weightOz };
  }
  const catalogue = await loadCatalogue(args.catalogue);
  const coin = catalogue.file.coins[args.coin];
  if (!coin) throw new UsageError(`coin "${args.coin}" is not in ${args.catalogue}; give --metal and --weight for a coin outside the catalogue`);
  return { coin: args.coin, coinName: coin.name, metal: coin.metal, weightOz: coin.weight_oz };
}
