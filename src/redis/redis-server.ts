import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

export interface RedisServerHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Folder for its data (append-only file). Created if missing. */
  dir: string;
  /** Port; default 0 picks a free one. */
  port?: number;
  /** Keep data on disk (appendonly). Default true; tests turn it off. */
  persist?: boolean;
}

/** True when a Redis answers PING at the URL within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolveFn, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolveFn(port));
    });
  });
}

/** Starts a private `redis-server` from PATH on 127.0.0.1, with `noeviction`. */
export async function startRedisServer(options: StartRedisOptions): Promise<RedisServerHandle> {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error) {
    throw new RedisUnavailableError(
      'no Redis answers on 127.0.0.1:6379 and redis-server is not installed.\n' +
        '  Install it:  sudo apt-get install -y redis-server   (or run: bash deploy/install-system-deps.sh)\n' +
        '  or point REDIS_URL at a Redis, or use: docker compose up',
    );
  }
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const port = options.port || (await freePort());
  const persist = options.persist ?? true;
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--maxmemory-policy', 'noeviction', '--save', '',
      '--appendonly', persist ? 'yes' : 'no', '--protected-mode', 'yes', '--logfile', ''],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url, 300))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new RedisUnavailableError(`redis-server did not start on port ${port}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

export interface EnsuredRedis {
  url: string;
  /** Set when this process started a private redis-server; stop it on exit. */
  stop?: () => Promise<void>;
  /** What happened, for the start-up message. */
  note: string;
}

/** REDIS_URL when given; else a Redis on 127.0.0.1:6379; else a private redis-server with data under `dataDir`. */
export async function ensureRedis(options: { url?: string; dataDir: string }): Promise<EnsuredRedis> {
  if (options.url) return { url: options.url, note: 'using REDIS_URL' };
  const local = 'redis://127.0.0.1:6379';
  if (await redisAnswers(local)) return { url: local, note: 'REDIS_URL not set; using the Redis on 127.0.0.1:6379' };
  const server = await startRedisServer({ dir: resolve(options.dataDir, 'redis') });
  return {
    url: server.url,
    stop: server.stop,
    note: `REDIS_URL not set and nothing answers on 127.0.0.1:6379; started a private redis-server on port ${server.port} (data in ${resolve(options.dataDir, 'redis')})`,
  };
}
