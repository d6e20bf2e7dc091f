import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import compression from 'compression';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../log.js';
import { O_NOFOLLOW } from '../files/no-follow.js';

/**
 * Serves the published `data/` tree to the StakTrakr frontend, the way the `serve.js` it replaces did
 * (GET/HEAD/OPTIONS, `Access-Control-Allow-Origin: *` on every answer, `Cache-Control: public, max-age=300`)
 * and better: strong content-hash ETags and Last-Modified with 304 answers, gzip/br of JSON, and no way out of
 * the tree (every encoding of `..`, dotfiles such as `.git`, symbolic links whose target leaves the tree,
 * directories: all 404, answered without reading anything and without naming a filesystem path).
 */

export interface DataRouterOptions {
  /** The folder served now, asked on every request (the exporter's tree or ServedBranch.current()); null: 503. */
  root: () => string | null;
  /** `Cache-Control: public, max-age=N` on files. Default 300 (what the frontend and serve.js use). */
  cacheSeconds?: number;
  /** Unexpected read errors are logged here (request path and error code, never a response body). Default: none. */
  logger?: Pick<Logger, 'warn'>;
  /** Files up to this size are read whole and sent from memory; larger ones (the snapshot) are streamed. Default 1 MiB. */
  bufferBytes?: number;
}

/** Methods the tree answers; everything else is 405. */
export const DATA_METHODS = 'GET, HEAD, OPTIONS';

/** Request headers a preflight is granted when it asks for something we do not echo. */
const DEFAULT_ALLOWED_HEADERS = 'Accept, Cache-Control, Content-Type, If-Modified-Since, If-None-Match, Pragma';
/** Seconds a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE = 86_400;

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.db': 'application/vnd.sqlite3',
  '.sqlite': 'application/vnd.sqlite3',
  '.gz': 'application/gzip',
  '.jpg': 'image/jpeg',
};

/** What a published file name may hold: URL-unreserved characters only, never starting with a dot. */
const SAFE_SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

/**
 * The request path's segments below the mount, or null when the path may not be served (404) or 'malformed'
 * when its percent-encoding is broken (400). Decoded exactly once: a `%` left after decoding (`%252e`) is
 * refused, as are `.`/`..`/empty segments, dotfiles, backslashes, NUL and anything outside SAFE_SEGMENT.
 */
export function servedSegments(url: string): string[] | null | 'malformed' {
  const raw = url.split('?', 1)[0].split('#', 1)[0];
  if (!raw.startsWith('/') || raw.includes('\\')) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return 'malformed';
  }
  if (/[\0\\%]/.test(decoded)) return null;
  const segments = decoded.slice(1).split('/');
  if (segments.length === 1 && segments[0] === '') return []; // the mount point itself: a directory
  return segments.every((s) => SAFE_SEGMENT.test(s)) ? segments : null;
}

/** The express Router to mount at `/data`. */
export function dataRouter(options: DataRouterOptions): Router {
  const { root, cacheSeconds = 300, logger, bufferBytes = 1024 * 1024 } = options;
  const hashes = new HashCache();
  const router = Router();

  router.use((req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    // ETag is not a CORS-safelisted response header: expose it so the app may read it too.
    res.setHeader('Access-Control-Expose-Headers', 'ETag, Last-Modified, Content-Length, Content-Encoding');
    if (req.method === 'OPTIONS') return preflight(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', DATA_METHODS);
      return sendError(res, 405, `method ${req.method} not allowed: this tree answers ${DATA_METHODS}`);
    }
    next();
  });
  router.use(variantEtag);
  router.use(compression({ filter: (_req, res) => String(res.getHeader('Content-Type') ?? '').startsWith('application/json') }));
  router.use(async (req: Request, res: Response) => {
    try {
      await serveFile(req, res);
    } catch (err) {
      logger?.warn({ path: req.path, code: (err as NodeJS.ErrnoException).code ?? null }, 'data file could not be served');
      if (!res.headersSent) sendError(res, 500, 'the file could not be read');
      else res.destroy();
    }
  });

  async function serveFile(req: Request, res: Response): Promise<void> {
    const segments = servedSegments(req.url);
    if (segments === 'malformed') return sendError(res, 400, 'malformed percent-encoding in the path');
    if (segments === null) return sendError(res, 404, 'not found');
    const configured = root();
    if (!configured) return sendError(res, 503, 'no published tree yet', { 'Retry-After': '30' });
    let realRoot: string;
    try {
      realRoot = await realpath(configured);
    } catch {
      return sendError(res, 503, 'no published tree yet', { 'Retry-After': '30' });
    }
    const file = await openInside(realRoot, segments);
    if (!file) return sendError(res, 404, 'not found');
    let streaming = false;
    try {
      const { handle, info } = file;
      const small = info.size <= bufferBytes;
      const body = small ? await readWhole(handle, info.size) : null;
      const hash = body ? contentHash([body]) : await hashes.get(handle, info);
      res.setHeader('Cache-Control', `public, max-age=${cacheSeconds}`);
      res.setHeader('Content-Type', CONTENT_TYPES[extname(segments[segments.length - 1]).toLowerCase()] ?? 'application/octet-stream');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Last-Modified', httpDate(info.mtimeMs));
      res.vary('Accept-Encoding');
      const matched = notModified(req, hash, info.mtimeMs);
      if (matched) {
        res.setHeader('ETag', matched);
        res.removeHeader('Content-Type');
        res.status(304).end();
        return;
      }
      res.setHeader('ETag', `"${hash}"`);
      res.setHeader('Content-Length', String(body ? body.length : info.size));
      res.status(200);
      if (req.method === 'HEAD') return void res.end();
      if (body) return void res.end(body);
      streaming = true;
      await streamTo(handle, res);
    } finally {
      if (!streaming) await file.handle.close();
    }
  }
  return router;
}

/** OPTIONS: the CORS preflight answer (204), for any path. */
function preflight(req: Request, res: Response): void {
  const asked = req.get('Access-Control-Request-Headers');
  // Echo a plain list of header names; anything else gets the default list.
  const echo = asked && asked.length <= 1000 && /^\s*[A-Za-z0-9!#$&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$&'*+.^_`|~-]+)*\s*$/.test(asked);
  res.setHeader('Access-Control-Allow-Methods', DATA_METHODS);
  res.setHeader('Access-Control-Allow-Headers', echo ? asked.trim() : DEFAULT_ALLOWED_HEADERS);
  res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE));
  res.setHeader('Allow', DATA_METHODS);
  res.vary('Access-Control-Request-Headers');
  res.status(204).end();
}

/** A small JSON error; never names a filesystem path. Errors are not cached: a missing hour file appears soon. */
function sendError(res: Response, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: message });
  res.status(status);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(body)));
  res.end(body);
}

interface OpenFile {
  handle: FileHandle;
  info: Stats;
}

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR', 'ENAMETOOLONG', 'ENXIO']);

/** Opens `segments` below `realRoot` only when its real path stays inside and it is a regular file; else null. */
async function openInside(realRoot: string, segments: string[]): Promise<OpenFile | null> {
  if (segments.length === 0) return null;
  let real: string;
  try {
    real = await realpath(join(realRoot, ...segments));
  } catch (err) {
    if (NOT_THERE.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null; // a link out of the tree
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a link swapped in after realpath is refused; O_NONBLOCK: a FIFO cannot hang the open.
    handle = await open(real, constants.O_RDONLY | O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (NOT_THERE.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    return null;
  }
  return { handle, info };
}

async function readWhole(handle: FileHandle, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const { bytesRead } = await handle.read(buf, at, size - at, at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return at === size ? buf : buf.subarray(0, at);
}

function contentHash(chunks: Iterable<Buffer>): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('base64url').slice(0, 27);
}

/**
 * Content hashes of large files, keyed by what changes when the file does (device, inode, size, mtime, ctime),
 * so the snapshot is read once for its ETag, not on every request. A content hash rather than size+mtime:
 * ServedBranch re-creates files per commit and hosts serve the same bytes, and both must give the same ETag.
 */
class HashCache {
  private readonly entries = new Map<string, Promise<string>>();
  constructor(private readonly max = 1000) {}

  get(handle: FileHandle, info: Stats): Promise<string> {
    const key = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    let hash = this.entries.get(key);
    if (!hash) {
      hash = hashHandle(handle, info.size);
      this.entries.set(key, hash);
      hash.catch(() => this.entries.delete(key));
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    return hash;
  }
}

async function hashHandle(handle: FileHandle, size: number): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.alloc(Math.min(size, 1024 * 1024) || 1);
  for (let at = 0; at < size; ) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - at), at);
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  return h.digest('base64url').slice(0, 27);
}

/** Streams the file from its start; the handle is closed when the stream ends, fails or the client goes. */
function streamTo(handle: FileHandle, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = handle.createReadStream({ start: 0, autoClose: true });
    stream.on('error', reject);
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

/**
 * The ETag to answer a 304 with, or null to send the file. If-None-Match wins over If-Modified-Since (RFC 9110
 * 13.2.2); the `-gzip`/`-br` variants variantEtag hands out match the same content.
 */
function notModified(req: Request, hash: string, mtimeMs: number): string | null {
  const inm = req.get('If-None-Match');
  if (inm !== undefined) {
    if (inm.trim() === '*') return `"${hash}"`;
    for (const raw of inm.split(',')) {
      const tag = raw.trim().replace(/^W\//, '');
      const m = /^"([^"]*)"$/.exec(tag);
      if (m && m[1].replace(/-(gzip|br|deflate)$/, '') === hash) return tag;
    }
    return null;
  }
  const ims = req.get('If-Modified-Since');
  if (ims === undefined) return null;
  const since = Date.parse(ims);
  if (Number.isNaN(since)) return null;
  return Math.floor(mtimeMs / 1000) * 1000 <= since ? `"${hash}"` : null;
}

function httpDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString();
}

/**
 * A compressed body is another representation, so it gets another strong ETag (`"hash-gzip"`, as Apache does).
 * Mounted before compression: its writeHead runs after compression chose the encoding.
 */
function variantEtag(_req: Request, res: Response, next: NextFunction): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: Response, ...args: unknown[]) {
    const encoding = this.getHeader('Content-Encoding');
    const tag = this.getHeader('ETag');
    if (typeof encoding === 'string' && encoding !== 'identity' && typeof tag === 'string' && tag.endsWith('"')) {
      this.setHeader('ETag', `${tag.slice(0, -1)}-${encoding}"`);
    }
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as Response['writeHead'];
  next();
}
