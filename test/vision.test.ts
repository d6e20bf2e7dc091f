import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePromptTarget, startFakeGemini, type FakeGeminiAnswer, type FakeGeminiHandle, type FakeGeminiRequest } from '../src/fleet/gemini-server.js';
import { memoryVisionBudget, type VisionBudget } from '../src/vision/vision-budget.js';
import { buildVisionPrompt, VISION_RESPONSE_SCHEMA } from '../src/vision/vision-prompt.js';
import { createVisionReader, type VisionReadInput, type VisionResult } from '../src/vision/vision-reader.js';

/** A planted key: no reason may hold it. */
const KEY = 'gem-PLANTED-key-5b0c1d9e77aa';
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(3000), Buffer.from([0xff, 0xd9])]);
const ASE = { slug: 'ase', name: 'American Silver Eagle 1 oz', metal: 'silver', weightOz: 1 };
const INPUT: VisionReadInput = { jpeg: JPEG, coin: ASE, vendor: 'apmex', priceRange: { min: 31.5, max: 52.25 } };
const RIGHT = { price: 38.49, in_stock: true, stock_label: 'In Stock', confidence: 92 };

/** Each test sets what the fake answers next. */
let next: (r: FakeGeminiRequest) => FakeGeminiAnswer = () => ({ json: RIGHT });
let fake: FakeGeminiHandle;
beforeAll(async () => {
  fake = await startFakeGemini({ apiKey: KEY, answer: (r) => next(r) });
});
afterAll(() => fake?.close());
afterEach(() => {
  next = () => ({ json: RIGHT });
});

const unlimited = (): VisionBudget => memoryVisionBudget({ perMinute: Infinity, perDay: Infinity });
const reader = (over: Partial<Parameters<typeof createVisionReader>[0]> = {}) =>
  createVisionReader({ apiKey: KEY, baseUrl: fake.url, budget: unlimited(), timeoutMs: 5_000, ...over });

/** Asserts a failure of `kind` whose reason never holds the key. */
function failed(r: VisionResult, kind: string): string {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('unreachable');
  expect(r.kind).toBe(kind);
  expect(r.reason).not.toContain(KEY);
  expect(r.reason).not.toContain(encodeURIComponent(KEY));
  expect(JSON.stringify(r)).not.toContain(KEY);
  return r.reason;
}

describe('vision reader against a local generateContent server (real @google/genai client, baseUrl)', () => {
  it('reads a right answer and sends the screenshot, prompt, schema and key the way Gemini expects', async () => {
    const before = fake.requests().length;
    const r = await reader({ model: 'gemini-test-model' }).read(INPUT);
    expect(r).toMatchObject({ ok: true, price: 38.49, inStock: true, stockLabel: 'In Stock', confidence: 92 });
    expect(r.ms).toBeGreaterThanOrEqual(0);
    const sent = fake.requests().slice(before);
    expect(sent).toHaveLength(1);
    const req = sent[0]!;
    expect(req.model).toBe('gemini-test-model');
    expect(req.imageBytes).toBe(JPEG.length);
    expect(req.mimeType).toBe('image/jpeg');
    expect(req.keyVia).toBe('header');
    expect(req.prompt).toBe(buildVisionPrompt(INPUT));
    expect(req.generationConfig?.responseMimeType).toBe('application/json');
    const schema = req.generationConfig?.responseSchema as { type: string; required: string[]; properties: Record<string, { type: string }> };
    expect(schema.type).toBe('OBJECT');
    expect(schema.required).toEqual(['price', 'in_stock', 'stock_label', 'confidence']);
    expect(schema.properties.price!.type).toBe('NUMBER');
    expect(schema.properties.in_stock!.type).toBe('BOOLEAN');
  });

  it('takes a wrong answer as a reading (judging it is consensus work), prices rounded to cents', async () => {
    next = () => ({ json: { price: 3849.001, in_stock: false, stock_label: '  Sold\n Out ', confidence: 99 } });
    const r = await reader().read(INPUT);
    expect(r).toMatchObject({ ok: true, price: 3849, inStock: false, stockLabel: 'Sold Out', confidence: 99 });
  });

  it('reads null price and stock, a missing stock_label, and a 0..1 confidence as a fraction', async () => {
    next = () => ({ json: { price: null, in_stock: null, confidence: 0.85 } });
    expect(await reader().read(INPUT)).toMatchObject({ ok: true, price: null, inStock: null, stockLabel: null, confidence: 85 });
    next = () => ({ json: { price: 40, in_stock: true, stock_label: null, confidence: 1 } });
    expect(await reader().read(INPUT)).toMatchObject({ ok: true, confidence: 1 });
  });

  it.each([
    ['text that is not JSON', { text: 'The price is $38.49' }, /not JSON/],
    ['an empty text', { text: '' }, /no text/],
    ['a price as a string', { json: { ...RIGHT, price: '$38.49' } }, /price/],
    ['a negative price', { json: { ...RIGHT, price: -5 } }, /price/],
    ['a zero price', { json: { ...RIGHT, price: 0 } }, /price/],
    ['in_stock as a word', { json: { ...RIGHT, in_stock: 'yes' } }, /in_stock/],
    ['a missing in_stock', { json: { price: 38.49, stock_label: null, confidence: 50 } }, /in_stock/],
    ['confidence over 100', { json: { ...RIGHT, confidence: 150 } }, /confidence/],
    ['an array', { json: [RIGHT] }, /match/],
  ] as const)('calls %s malformed, never a price', async (_name, answer, why) => {
    next = () => answer as FakeGeminiAnswer;
    expect(failed(await reader().read(INPUT), 'malformed')).toMatch(why);
  });

  it('calls a slow answer a timeout, and a caller abort too', async () => {
    next = () => ({ delayMs: 3_000, json: RIGHT });
    expect(failed(await reader({ timeoutMs: 150 }).read(INPUT), 'timeout')).toContain('150 ms');
    const controller = new AbortController();
    const pending = reader().read({ ...INPUT, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(failed(await pending, 'timeout')).toContain('cancelled by the caller');
  });

  it('calls 429 rate_limited and does not retry it', async () => {
    next = () => ({ status: 429 });
    const before = fake.requests().length;
    expect(failed(await reader().read(INPUT), 'rate_limited')).toMatch(/429.*RESOURCE_EXHAUSTED/);
    expect(fake.requests().length - before).toBe(1);
  });

  it('calls 500 and 503 server failures, with the server message redacted of the key', async () => {
    next = () => ({ status: 500, message: `backend exploded while serving key ${KEY}` });
    const reason = failed(await reader().read(INPUT), 'server');
    expect(reason).toMatch(/500.*backend exploded/);
    expect(reason).toContain('***');
    next = () => ({ status: 503 });
    expect(failed(await reader().read(INPUT), 'server')).toContain('503');
  });

  it('calls 401, 403 and a wrong key (Gemini answers 400 API_KEY_INVALID) bad_key', async () => {
    next = () => ({ status: 401 });
    expect(failed(await reader().read(INPUT), 'bad_key')).toContain('GEMINI_API_KEY');
    next = () => ({ status: 403 });
    expect(failed(await reader().read(INPUT), 'bad_key')).toContain('403');
    const wrongKey = 'gem-WRONG-key-0000000000';
    const r = await reader({ apiKey: wrongKey }).read(INPUT);
    expect(failed(r, 'bad_key')).toMatch(/400.*API key not valid/);
    expect(JSON.stringify(r)).not.toContain(wrongKey);
  });

  it('calls a blocked prompt and a non-STOP finish refused', async () => {
    next = () => ({ blocked: true });
    expect(failed(await reader().read(INPUT), 'refused')).toContain('SAFETY');
    next = () => ({ finishReason: 'SAFETY' });
    expect(failed(await reader().read(INPUT), 'refused')).toContain('SAFETY');
    next = () => ({ finishReason: 'MAX_TOKENS', text: '{"price": 38.4' });
    expect(failed(await reader().read(INPUT), 'refused')).toContain('MAX_TOKENS');
  });

  it('calls an unreachable endpoint a server failure', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    expect(failed(await reader({ baseUrl: `http://127.0.0.1:${port}` }).read(INPUT), 'server')).toContain('cannot reach');
  });

  it('refuses to start without a key, and never throws for a failing answer callback', async () => {
    expect(() => createVisionReader({ apiKey: '', budget: unlimited() })).toThrow(/GEMINI_API_KEY is empty/);
    next = () => {
      throw new Error('fleet truth unavailable');
    };
    expect(failed(await reader().read(INPUT), 'server')).toContain('fleet truth unavailable');
  });
});

describe('vision budget', () => {
  it('spends nothing on the server once the per-minute budget is spent', async () => {
    const before = fake.requests().length;
    const r = reader({ budget: memoryVisionBudget({ perMinute: 2, perDay: 100 }) });
    const results = [await r.read(INPUT), await r.read(INPUT), await r.read(INPUT)];
    expect(results.map((x) => x.ok)).toEqual([true, true, false]);
    expect(failed(results[2]!, 'budget')).toMatch(/^GEMINI_MAX_PER_MINUTE \(2\) spent/);
    expect(fake.requests().length - before).toBe(2);
  });

  it('stops at the per-day budget with a reason that says so', async () => {
    const before = fake.requests().length;
    const r = reader({ budget: memoryVisionBudget({ perMinute: 100, perDay: 1 }) });
    expect((await r.read(INPUT)).ok).toBe(true);
    expect(failed(await r.read(INPUT), 'budget')).toMatch(/^GEMINI_MAX_PER_DAY \(1\) spent: .*00:00 UTC/);
    expect(fake.requests().length - before).toBe(1);
  });

  it('rolls the minute and resets the day at 00:00 UTC; a refused take spends nothing', async () => {
    const b = memoryVisionBudget({ perMinute: 2, perDay: 3 });
    const t0 = Date.UTC(2026, 2, 11, 23, 58, 0);
    expect(await b.take(t0)).toEqual({ ok: true });
    expect(await b.take(t0 + 10_000)).toEqual({ ok: true });
    const refused = await b.take(t0 + 20_000);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toMatch(/GEMINI_MAX_PER_MINUTE \(2\) spent: 2 requests in the last minute, next one in 40s/);
    expect(b.used(t0 + 20_000)).toEqual({ minute: 2, day: 2, perMinute: 2, perDay: 3 });
    expect(await b.take(t0 + 60_001)).toEqual({ ok: true }); // the first left the window
    const dayOver = await b.take(t0 + 90_000); // 23:59:30, the minute has room again
    expect(dayOver.ok).toBe(false);
    expect(!dayOver.ok && dayOver.reason).toMatch(/GEMINI_MAX_PER_DAY \(3\) spent: 3 requests today, resets at 00:00 UTC \(in 30s\)/);
    expect(await b.take(Date.UTC(2026, 2, 12, 0, 0, 1))).toEqual({ ok: true });
    expect(b.used(Date.UTC(2026, 2, 12, 0, 0, 1)).day).toBe(1);
  });

  it('sends nothing with a zero budget and rejects nonsense limits', async () => {
    const b = memoryVisionBudget({ perMinute: 0, perDay: 10 });
    expect((await b.take()).ok).toBe(false);
    expect(() => memoryVisionBudget({ perMinute: -1, perDay: 10 })).toThrow(/GEMINI_MAX_PER_MINUTE/);
    expect(() => memoryVisionBudget({ perMinute: 5, perDay: 1.5 })).toThrow(/GEMINI_MAX_PER_DAY/);
  });

  it('refuses to send when the budget cannot be checked', async () => {
    const before = fake.requests().length;
    const broken: VisionBudget = { take: () => Promise.reject(new Error('redis down')) };
    expect(failed(await reader({ budget: broken }).read(INPUT), 'budget')).toContain('redis down');
    expect(fake.requests().length).toBe(before);
  });
});

describe('vision concurrency', () => {
  it.each([1, 2, 3])('keeps at most %i requests in flight; the others wait and all are answered', async (n) => {
    const local = await startFakeGemini({ answer: () => ({ delayMs: 120, json: RIGHT }) });
    try {
      const r = createVisionReader({ apiKey: KEY, baseUrl: local.url, budget: unlimited(), concurrency: n });
      const all = Promise.all(Array.from({ length: 8 }, () => r.read(INPUT)));
      await new Promise((res) => setTimeout(res, 30));
      expect(r.load()).toEqual({ inFlight: n, waiting: 8 - n });
      const results = await all;
      expect(results.every((x) => x.ok)).toBe(true);
      expect(local.maxInFlight()).toBe(n);
      expect(local.requests()).toHaveLength(8);
      expect(r.load()).toEqual({ inFlight: 0, waiting: 0 });
    } finally {
      await local.close();
    }
  });

  it('lets a waiter whose deadline passes leave the line without sending', async () => {
    const local = await startFakeGemini({ answer: () => ({ delayMs: 300, json: RIGHT }) });
    try {
      const r = createVisionReader({ apiKey: KEY, baseUrl: local.url, budget: unlimited(), concurrency: 1 });
      const first = r.read(INPUT);
      const second = r.read({ ...INPUT, signal: AbortSignal.timeout(50) });
      expect(failed(await second, 'timeout')).toContain('waiting for a vision slot');
      expect((await first).ok).toBe(true);
      expect(local.requests()).toHaveLength(1);
    } finally {
      await local.close();
    }
  });
});

describe('vision prompt', () => {
  it('holds the coin, metal, weight, range, default hints and stock rules, and names one unit', () => {
    const p = buildVisionPrompt(INPUT);
    for (const part of ['American Silver Eagle 1 oz', 'Metal: silver', '1 troy oz', '$31.50 to $52.25', 'ONE unit', '1-unit row', 'check/wire', 'sold out', 'notify me', 'add to cart', 'NOT in stock']) {
      expect(p).toContain(part);
    }
    expect(p).toContain('"Pre-order", "coming soon" and "backorder" mean NOT in stock');
    expect(parsePromptTarget(p)).toEqual({ coinName: 'American Silver Eagle 1 oz', coin: 'ase', vendor: 'apmex' });
  });

  it('carries vendor hints and the pre-order rule, and copes with no range', () => {
    const p = buildVisionPrompt({
      ...INPUT,
      coin: { slug: 'maple-1-10', name: 'Gold Maple Leaf (1/10 oz)\nspecial', metal: 'gold', weightOz: 0.1 },
      vendor: 'jmbullion',
      priceRange: null,
      hints: { quantityRow: 'the "1+" row', paymentColumn: 'the "Card/PayPal" column', preorderInStock: true },
    });
    expect(p).toContain('read the "1+" row');
    expect(p).toContain('read the "Card/PayPal" column');
    expect(p).toContain('"Pre-order" counts as IN stock');
    expect(p).toContain('0.1 troy oz');
    expect(p).toContain('No plausible price range is known');
    expect(parsePromptTarget(p)).toEqual({ coinName: 'Gold Maple Leaf (1/10 oz) special', coin: 'maple-1-10', vendor: 'jmbullion' });
    expect(parsePromptTarget('no target line here')).toBeNull();
  });

  it('lets the fake answer from the prompt, as the demo answers with the fleet truth', async () => {
    const truth: Record<string, number> = { 'ase:apmex': 38.49, 'ase:jmbullion': 37.99 };
    next = (req) => {
      const t = parsePromptTarget(req.prompt);
      return t ? { json: { price: truth[`${t.coin}:${t.vendor}`] ?? null, in_stock: true, stock_label: null, confidence: 90 } } : { status: 500 };
    };
    expect(await reader().read({ ...INPUT, vendor: 'jmbullion' })).toMatchObject({ ok: true, price: 37.99 });
    expect(await reader().read(INPUT)).toMatchObject({ ok: true, price: 38.49 });
  });

  it('is the schema the reader sends', () => {
    expect(Object.keys(VISION_RESPONSE_SCHEMA.properties ?? {})).toEqual(['price', 'in_stock', 'stock_label', 'confidence']);
  });
});
