import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrowserVendors } from './browser-only.js';
import type { FleetChaos } from './chaos.js';
import { FleetInputError, type Patch } from './patch.js';

/** What the admin endpoints can do; the fleet handle provides it. */
export interface FleetControl {
  health(): Record<string, unknown>;
  stats(): unknown;
  targets(): unknown;
  truth(vendor: string, coin: string): unknown;
  setTarget(vendor: string, coin: string, patch: Patch): void;
  setVendor(vendor: string, patch: Patch): void;
  setChaos(chaos: FleetChaos | null): void;
  setBrowserVendors(browserVendors: BrowserVendors | null): void;
  browserVendors(): unknown;
  reset(options?: { stats?: boolean }): void;
}

/** Admin bodies are small JSON objects; anything bigger is a mistake. */
const MAX_BODY_BYTES = 64 * 1024;

type Route = (q: URLSearchParams, body: Record<string, unknown>) => unknown;

/**
 * `/_fleet/*` endpoints, JSON in and out, so that other processes (the demo, the benchmark, a shell) can
 * steer a fleet they did not start. Bad input answers 400 with a message naming the field.
 */
export async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL, control: FleetControl): Promise<void> {
  const routes: Record<string, { method: 'GET' | 'POST'; run: Route }> = {
    '/_fleet/health': { method: 'GET', run: () => control.health() },
    '/_fleet/stats': { method: 'GET', run: () => control.stats() },
    '/_fleet/targets': { method: 'GET', run: () => control.targets() },
    '/_fleet/truth': {
      method: 'GET',
      run: (q) => {
        const vendor = requireString(q.get('vendor'), 'vendor');
        const coin = requireString(q.get('coin'), 'coin');
        return { vendor, coin, ...(control.truth(vendor, coin) as object) };
      },
    },
    '/_fleet/target': {
      method: 'POST',
      run: (_q, { vendor, coin, ...patch }) => {
        const v = requireString(vendor, 'vendor');
        const c = requireString(coin, 'coin');
        control.setTarget(v, c, patch as Patch);
        return { ok: true, vendor: v, coin: c, truth: control.truth(v, c) };
      },
    },
    '/_fleet/vendor': {
      method: 'POST',
      run: (_q, { vendor, ...patch }) => {
        const v = requireString(vendor, 'vendor');
        control.setVendor(v, patch as Patch);
        return { ok: true, vendor: v };
      },
    },
    // The body is the whole chaos ({} for none): it replaces the current one rather than patching it.
    '/_fleet/chaos': {
      method: 'POST',
      run: (_q, body) => {
        control.setChaos(body as FleetChaos);
        return { ok: true, chaos: body };
      },
    },
    // The body is the whole set ({} for none): it replaces the current one, like chaos.
    '/_fleet/browser-vendors': {
      method: 'POST',
      run: (_q, body) => {
        control.setBrowserVendors(body as BrowserVendors);
        return { ok: true, browserVendors: control.browserVendors() };
      },
    },
    '/_fleet/reset': {
      method: 'POST',
      run: (_q, body) => {
        if (body.stats !== undefined && typeof body.stats !== 'boolean') throw new FleetInputError('bad reset: stats: expected true or false');
        control.reset({ stats: body.stats === true });
        return { ok: true };
      },
    },
  };
  const route = routes[url.pathname];
  if (!route) return sendJson(res, 404, { error: `no admin endpoint ${url.pathname}; try ${Object.keys(routes).join(', ')}` });
  if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
    return sendJson(res, 405, { error: `${url.pathname} expects ${route.method}` }, { allow: route.method });
  }
  try {
    const body = route.method === 'POST' ? await readJsonObject(req) : {};
    sendJson(res, 200, route.run(url.searchParams, body));
  } catch (err) {
    if (err instanceof FleetInputError) return sendJson(res, 400, { error: err.message });
    sendJson(res, 500, { error: (err as Error).message });
  }
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new FleetInputError(`${field}: expected a non-empty string`);
  return value;
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new FleetInputError(`body: larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FleetInputError(`body: not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FleetInputError('body: expected a JSON object');
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value) + '\n');
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length), 'cache-control': 'no-store', ...headers });
  res.end(body);
}
