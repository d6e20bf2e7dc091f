import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePromptTarget } from '../vision/vision-prompt.js';

export { parsePromptTarget };

/**
 * A local stand-in for Gemini's `generateContent` REST endpoint (`POST /v1beta/models/{model}:generateContent`,
 * key in the `x-goog-api-key` header or `?key=`), for tests and the demo: the real `@google/genai` client reaches it
 * through `httpOptions.baseUrl`. What it answers is decided per request by a callback, which sees the prompt
 * (so it can answer with the fleet's truth, see parsePromptTarget) and the image size.
 */

/** What one request is answered with. `delayMs` (optional on every mode) waits first, as a slow model does. */
export type FakeGeminiAnswer = { delayMs?: number } & (
  | { json: unknown } // a structured answer, right or wrong: sent as the candidate's text, JSON-encoded
  | { text: string } // the candidate's raw text, e.g. something that is not JSON
  | { status: number; message?: string } // an HTTP error in Gemini's error shape (429 with Retry-After)
  | { blocked: true; reason?: string } // promptFeedback.blockReason (default SAFETY), no candidates
  | { finishReason: string; text?: string } // a candidate stopped for another reason (SAFETY, RECITATION, MAX_TOKENS)
  | Record<string, never> // `{}` or `{ delayMs }` alone: a well-formed "nothing readable" answer
);

export interface FakeGeminiRequest {
  /** Model id from the path, e.g. `gemini-2.5-flash`. */
  model: string;
  /** Every text part of the request, joined by newlines. */
  prompt: string;
  /** Decoded bytes of the inline image(s). */
  imageBytes: number;
  /** MIME type of the first inline image, or null. */
  mimeType: string | null;
  /** The request's generationConfig as sent (responseMimeType, responseSchema, ...). */
  generationConfig: Record<string, unknown> | null;
  /** Where the API key came: never the key itself. */
  keyVia: 'header' | 'query' | 'none';
}

export interface FakeGeminiOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Decides the answer of each well-formed request. An exception answers 500. */
  answer: (request: FakeGeminiRequest) => FakeGeminiAnswer | Promise<FakeGeminiAnswer>;
  /** When set, any other key gets Gemini's 400 API_KEY_INVALID and a missing key 403. Default: any key is accepted. */
  apiKey?: string;
}

export interface FakeGeminiHandle {
  /** Base URL for httpOptions.baseUrl, e.g. `http://127.0.0.1:40123` (no version, no trailing slash). */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Every well-formed generateContent request so far, oldest first. */
  requests(): FakeGeminiRequest[];
  /** The most requests that were being answered at once. */
  maxInFlight(): number;
}

const ROUTE = /^\/(v1|v1beta|v1alpha)\/models\/([^/:]+):generateContent$/;
/** Gemini's inline-data request limit. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, details?: unknown[]): void {
  const headers: Record<string, string> = status === 429 ? { 'retry-after': '30' } : {};
  sendJson(res, status, { error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN', ...(details ? { details } : {}) } }, headers);
}

function candidate(text: string, finishReason: string) {
  return { content: { parts: [{ text }], role: 'model' }, finishReason, index: 0 };
}

const usage = { promptTokenCount: 1290, candidatesTokenCount: 24, totalTokenCount: 1314 };

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Part {
  text?: unknown;
  inlineData?: { mimeType?: unknown; data?: unknown };
}

/** The request's prompt and image, or a problem to answer 400 with. */
function parseRequest(body: Buffer): { prompt: string; imageBytes: number; mimeType: string | null; generationConfig: Record<string, unknown> | null } | string {
  let json: { contents?: Array<{ parts?: Part[] }>; generationConfig?: Record<string, unknown> };
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'Invalid JSON payload received.';
  }
  if (!json || !Array.isArray(json.contents) || json.contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  const texts: string[] = [];
  let imageBytes = 0;
  let mimeType: string | null = null;
  for (const content of json.contents) {
    for (const part of content?.parts ?? []) {
      if (typeof part.text === 'string') texts.push(part.text);
      if (part.inlineData && typeof part.inlineData.data === 'string') {
        imageBytes += Buffer.from(part.inlineData.data, 'base64').length;
        mimeType ??= typeof part.inlineData.mimeType === 'string' ? part.inlineData.mimeType : null;
      }
    }
  }
  return { prompt: texts.join('\n'), imageBytes, mimeType, generationConfig: json.generationConfig ?? null };
}

const sleep = (ms: number, res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    res.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });

export async function startFakeGemini(options: FakeGeminiOptions): Promise<FakeGeminiHandle> {
  const { port = 0, answer, apiKey } = options;
  const seen: FakeGeminiRequest[] = [];
  let inFlight = 0;
  let peak = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = ROUTE.exec(url.pathname);
    if (!route) return sendError(res, 404, `The requested URL ${url.pathname} was not found on this server.`);
    if (req.method !== 'POST') return sendError(res, 405, `Method ${req.method ?? ''} is not allowed; use POST.`);
    const headerKey = req.headers['x-goog-api-key'];
    const key = (Array.isArray(headerKey) ? headerKey[0] : headerKey) ?? url.searchParams.get('key') ?? '';
    const keyVia: FakeGeminiRequest['keyVia'] = headerKey ? 'header' : url.searchParams.has('key') ? 'query' : 'none';
    if (apiKey !== undefined) {
      if (!key) return sendError(res, 403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.');
      if (key !== apiKey) {
        return sendError(res, 400, 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }]);
      }
    }
    const body = await readBody(req);
    if (!body) return sendError(res, 413, `Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`);
    const parsed = parseRequest(body);
    if (typeof parsed === 'string') return sendError(res, 400, parsed);
    const request: FakeGeminiRequest = { model: decodeURIComponent(route[2]!), ...parsed, keyVia };
    seen.push(request);
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    try {
      let a: FakeGeminiAnswer;
      try {
        a = await answer(request);
      } catch (err) {
        return sendError(res, 500, `An internal error has occurred: ${(err as Error)?.message ?? String(err)}`);
      }
      if (a.delayMs && a.delayMs > 0) await sleep(a.delayMs, res);
      if (res.destroyed || res.writableEnded) return; // the client gave up during the delay
      if ('status' in a && typeof a.status === 'number') return sendError(res, a.status, a.message ?? defaultMessage(a.status));
      if ('blocked' in a && a.blocked) return sendJson(res, 200, { promptFeedback: { blockReason: a.reason ?? 'SAFETY' }, usageMetadata: usage, modelVersion: request.model });
      let reply: ReturnType<typeof candidate>;
      if ('finishReason' in a && typeof a.finishReason === 'string') reply = candidate(a.text ?? '', a.finishReason);
      else if ('text' in a && typeof a.text === 'string') reply = candidate(a.text, 'STOP');
      else if ('json' in a) reply = candidate(JSON.stringify(a.json), 'STOP');
      else reply = candidate(JSON.stringify({ price: null, in_stock: null, stock_label: null, confidence: 0 }), 'STOP');
      sendJson(res, 200, { candidates: [reply], usageMetadata: usage, modelVersion: request.model, responseId: `fake-${seen.length}` });
    } finally {
      inFlight -= 1;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `fake Gemini failed: ${(err as Error)?.message ?? String(err)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests: () => [...seen],
    maxInFlight: () => peak,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Resource has been exhausted (e.g. check quota).';
  if (status === 401) return 'Request had invalid authentication credentials.';
  if (status === 403) return 'The caller does not have permission.';
  if (status >= 500) return 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting';
  return 'The request was refused.';
}
