import { readFile } from 'node:fs/promises';
import { loadCatalogue } from '../catalogue/load.js';
import { METALS, type Metal, type ProductIdentity } from '../catalogue/target.js';
import { loadVendorDirectory } from '../config/vendors.js';
import { extractPrice } from '../scrape/extract/extract.js';
import { fetchPage } from '../scrape/fetch/http-fetch.js';
import { checkPriceRange } from '../scrape/sanity.js';
import { UsageError } from './errors.js';

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

/** `poller extract`: one JSON object on stdout with price, stock, outcome, rule and reason; exit 0 whatever the page. */
export async function extractCommand(args: ExtractArgs): Promise<number> {
  if (!args.file === !args.url) throw new UsageError('give exactly one of --file PAGE.html or --url URL');
  const product = await productFor(args);
  const vendor = (await loadVendorDirectory(args.vendors, 1)).get(args.vendor);
  let html: string;
  let status: number | undefined;
  let url: string | undefined;
  if (args.file) {
    html = (await readFile(args.file)).toString('utf8');
  } else {
    const page = await fetchPage(args.url!, { proxyUrl: vendor.proxyUrl ?? undefined, timeoutMs: vendor.timeoutMs, maxBytes: vendor.maxBytes, userAgent: vendor.userAgent ?? undefined });
    ({ body: html, status, url } = page);
  }
  const result = extractPrice({ html, status, url, vendor: args.vendor, product, rules: vendor.rules });
  const sanity = result.price !== null ? checkPriceRange(result.price, product) : { ok: true as const };
  const out = sanity.ok ? result : { ...result, rejected: true, reason: `${result.reason}; rejected: ${sanity.reason}` };
  process.stdout.write(JSON.stringify(out) + '\n');
  return 0;
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
