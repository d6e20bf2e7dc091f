import { ApiError, GoogleGenAI, type GenerateContentResponse } from '@google/genai';
import { z } from 'zod';
import { redactText, secretValues } from '../secrets.js';
import type { VisionBudget } from './vision-budget.js';
import { buildVisionPrompt, VISION_RESPONSE_SCHEMA, type VisionPromptInput } from './vision-prompt.js';

/** Why a vision read gave no reading. None of them is ever a price; the text result then stands alone. */
export type VisionFailureKind = 'budget' | 'timeout' | 'rate_limited' | 'server' | 'malformed' | 'refused' | 'bad_key';

export type VisionResult =
  | {
      ok: true;
      /** USD per unit, rounded to cents; null when the model saw no price. */
      price: number | null;
      inStock: boolean | null;
      stockLabel: string | null;
      /** The model's own 0..100 confidence: informative only, consensus never trusts it. */
      confidence: number;
      /** Time of the whole read, queue wait included. */
      ms: number;
    }
  | { ok: false; kind: VisionFailureKind; reason: string; ms: number };

export interface VisionReaderOptions {
  /** GEMINI_API_KEY. Sent as a header by the client; never in a reason. */
  apiKey: string;
  /** Default: env GEMINI_MODEL, else `gemini-2.5-flash`. */
  model?: string;
  /** Gemini's endpoint (httpOptions.baseUrl), e.g. the local fake in tests and the demo. Default: Google's. */
  baseUrl?: string;
  /** Bound of one request, from when it is sent. Default 30 000 ms. */
  timeoutMs?: number;
  /** Requests in flight at once in this reader; others wait. Default 2. */
  concurrency?: number;
  /** Asked right before each request; nothing is sent when it says no. */
  budget: VisionBudget;
}

export interface VisionReadInput extends VisionPromptInput {
  /** The screenshot of the product area. */
  jpeg: Uint8Array;
  /** The job's deadline: aborts the wait for a slot and the request (a `timeout` failure). */
  signal?: AbortSignal;
}

export interface VisionReader {
  readonly model: string;
  read(input: VisionReadInput): Promise<VisionResult>;
  /** Requests in flight and waiting for a slot now. */
  load(): { inFlight: number; waiting: number };
}

export const DEFAULT_GEMINI_MODEL = 'gemini-2.5-flash';

/**
 * The answer Gemini must give. Extra keys are ignored; stock_label may be left out (read as null).
 * Confidence: 0..100 as asked; a strictly fractional value (0 < c < 1) is taken as a 0..1 fraction and scaled,
 * so 0.85 becomes 85 while 0 and 1 stay percents. Anything outside 0..100 is malformed.
 */
const answerSchema = z.object({
  price: z.number().positive().max(10_000_000).nullable(),
  in_stock: z.boolean().nullable(),
  stock_label: z.string().nullable().optional(),
  confidence: z.number().min(0).max(100),
});

const STOCK_LABEL_MAX = 120;

function normaliseConfidence(c: number): number {
  return Math.round(c > 0 && c < 1 ? c * 100 : c);
}

/** A slot semaphore: at most `size` holders, the rest wait in order; a waiter whose signal aborts leaves the line. */
function createSlots(size: number) {
  let busy = 0;
  const waiting: Array<() => void> = [];
  return {
    load: () => ({ inFlight: busy, waiting: waiting.length }),
    acquire(signal?: AbortSignal): Promise<boolean> {
      if (signal?.aborted) return Promise.resolve(false);
      if (busy < size) {
        busy += 1;
        return Promise.resolve(true);
      }
      return new Promise((resolve) => {
        const grant = (): void => {
          signal?.removeEventListener('abort', onAbort);
          busy += 1;
          resolve(true);
        };
        const onAbort = (): void => {
          const i = waiting.indexOf(grant);
          if (i >= 0) waiting.splice(i, 1);
          resolve(false);
        };
        waiting.push(grant);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    release(): void {
      busy -= 1;
      waiting.shift()?.();
    },
  };
}

type Failure = { kind: VisionFailureKind; reason: string };

/** Gemini's error text from an ApiError (`{"error":{"message":...}}`), else the message itself. */
function apiErrorText(err: ApiError): string {
  try {
    const body = JSON.parse(err.message) as { error?: { message?: unknown; status?: unknown } };
    const msg = body?.error?.message;
    if (typeof msg === 'string' && msg) return typeof body.error?.status === 'string' ? `${body.error.status}: ${msg}` : msg;
  } catch {
    /* not Gemini's JSON error body */
  }
  return err.message;
}

function classifyError(err: unknown, baseUrl: string | undefined): Failure {
  if (err instanceof ApiError) {
    const text = apiErrorText(err);
    const s = err.status;
    if (s === 429) return { kind: 'rate_limited', reason: `HTTP 429 from Gemini (quota or rate limit): ${text}` };
    if (s === 401 || s === 403) return { kind: 'bad_key', reason: `HTTP ${s} from Gemini: ${text}; check GEMINI_API_KEY` };
    // Gemini answers a wrong key with 400 INVALID_ARGUMENT and reason API_KEY_INVALID.
    if (s === 400 && /API_KEY_INVALID|API key not valid/i.test(err.message)) return { kind: 'bad_key', reason: `HTTP 400 from Gemini: ${text}; check GEMINI_API_KEY` };
    if (s >= 500) return { kind: 'server', reason: `HTTP ${s} from Gemini: ${text}` };
    return { kind: 'server', reason: `HTTP ${s} from Gemini refused the request: ${text}; check GEMINI_MODEL and the request` };
  }
  // A 200 whose body is not JSON: the endpoint does not speak Gemini's protocol.
  if (err instanceof SyntaxError) return { kind: 'malformed', reason: `the answer body is not JSON: ${err.message}` };
  const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  const where = baseUrl ?? 'generativelanguage.googleapis.com';
  return { kind: 'server', reason: `cannot reach Gemini at ${where}: ${String(e?.message ?? err)}${cause ? ` (${String(cause)})` : ''}` };
}

/** Reads the model's answer: a refusal, a malformed answer, or the reading. */
function readAnswer(response: GenerateContentResponse): Failure | Omit<Extract<VisionResult, { ok: true }>, 'ms'> {
  const blocked = response.promptFeedback?.blockReason;
  if (blocked) {
    const msg = response.promptFeedback?.blockReasonMessage;
    return { kind: 'refused', reason: `the prompt was blocked (${blocked})${msg ? `: ${msg}` : ''}` };
  }
  const candidate = response.candidates?.[0];
  if (!candidate) return { kind: 'refused', reason: 'the answer has no candidates' };
  // A missing finishReason is accepted; any reason but STOP (SAFETY, RECITATION, MAX_TOKENS, ...) is a refusal.
  if (candidate.finishReason && candidate.finishReason !== 'STOP') {
    return { kind: 'refused', reason: `the model stopped with finishReason ${candidate.finishReason}${candidate.finishMessage ? `: ${candidate.finishMessage}` : ''}` };
  }
  const text = (candidate.content?.parts ?? [])
    .filter((p) => typeof p.text === 'string' && !p.thought)
    .map((p) => p.text)
    .join('')
    .trim();
  if (!text) return { kind: 'malformed', reason: 'the answer holds no text' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'malformed', reason: `the answer is not JSON: ${JSON.stringify(text.slice(0, 80))}` };
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
    return { kind: 'malformed', reason: `the answer does not match {price, in_stock, stock_label, confidence}: ${problems}` };
  }
  const a = parsed.data;
  const label = a.stock_label?.replace(/\s+/g, ' ').trim().slice(0, STOCK_LABEL_MAX) || null;
  return {
    ok: true,
    price: a.price === null ? null : Math.round(a.price * 100) / 100,
    inStock: a.in_stock,
    stockLabel: label,
    confidence: normaliseConfidence(a.confidence),
  };
}

/**
 * A second reader of a product page: the screenshot and a prompt go to Gemini (through `@google/genai`, so the
 * real protocol, also against a local server at `baseUrl`), and the structured answer comes back validated.
 * Every failure (budget spent, timeout, 429, 5xx, bad key, refusal, malformed answer) is a result, never a throw.
 * No retries here: a failed read is recorded, and the next scrape of the target tries again.
 */
export function createVisionReader(options: VisionReaderOptions): VisionReader {
  const { apiKey, baseUrl, budget, timeoutMs = 30_000, concurrency = 2 } = options;
  const model = options.model || process.env.GEMINI_MODEL || DEFAULT_GEMINI_MODEL;
  if (!apiKey) throw new Error('GEMINI_API_KEY is empty: set it to read screenshots with Gemini, or leave it unset to turn vision off');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`vision concurrency must be a whole number >= 1, got ${String(concurrency)}`);
  if (!(timeoutMs > 0)) throw new RangeError(`vision timeoutMs must be > 0, got ${String(timeoutMs)}`);

  const ai = new GoogleGenAI({ apiKey, vertexai: false, ...(baseUrl ? { httpOptions: { baseUrl } } : {}) });
  const slots = createSlots(concurrency);
  const redact = (text: string): string => redactText(text, [apiKey, ...secretValues()]).slice(0, 400);

  async function send(input: VisionReadInput): Promise<Failure | Omit<Extract<VisionResult, { ok: true }>, 'ms'>> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onCallerAbort = (): void => controller.abort();
    input.signal?.addEventListener('abort', onCallerAbort, { once: true });
    // Settles on abort even if the client were slow to notice it: a read never outlives its deadline.
    const aborted = new Promise<'aborted'>((resolve) => controller.signal.addEventListener('abort', () => resolve('aborted'), { once: true }));
    const call = ai.models.generateContent({
      model,
      contents: [
        {
          role: 'user',
          parts: [{ inlineData: { mimeType: 'image/jpeg', data: Buffer.from(input.jpeg).toString('base64') } }, { text: buildVisionPrompt(input) }],
        },
      ],
      config: { responseMimeType: 'application/json', responseSchema: VISION_RESPONSE_SCHEMA, temperature: 0, abortSignal: controller.signal },
    });
    call.catch(() => undefined); // the race below may leave it behind
    try {
      const response = await Promise.race([call, aborted]);
      if (response === 'aborted') throw new Error('aborted');
      return readAnswer(response);
    } catch (err) {
      if (timedOut) return { kind: 'timeout', reason: `no answer from Gemini within ${timeoutMs} ms` };
      if (input.signal?.aborted) return { kind: 'timeout', reason: 'cancelled by the caller (job deadline) while Gemini was reading' };
      return classifyError(err, baseUrl);
    } finally {
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  return {
    model,
    load: slots.load,
    async read(input) {
      const started = performance.now();
      const done = (r: Failure | Omit<Extract<VisionResult, { ok: true }>, 'ms'>): VisionResult => {
        const ms = Math.round(performance.now() - started);
        return 'kind' in r ? { ok: false, kind: r.kind, reason: redact(r.reason), ms } : { ...r, ms };
      };
      if (!input.jpeg?.byteLength) throw new TypeError('vision read needs a JPEG screenshot; got an empty one');
      if (!(await slots.acquire(input.signal))) return done({ kind: 'timeout', reason: 'cancelled by the caller (job deadline) while waiting for a vision slot' });
      try {
        let allowed: Awaited<ReturnType<VisionBudget['take']>>;
        try {
          allowed = await budget.take();
        } catch (err) {
          // Sending without a working budget could spend without bound: refuse instead.
          return done({ kind: 'budget', reason: `the vision budget could not be checked: ${String((err as Error)?.message ?? err)}` });
        }
        if (!allowed.ok) return done({ kind: 'budget', reason: allowed.reason });
        return done(await send(input));
      } finally {
        slots.release();
      }
    },
  };
}
