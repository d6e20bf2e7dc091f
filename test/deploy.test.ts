import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config/env.js';

const ROLE_COMMANDS = ['start', 'scheduler', 'worker', 'exporter', 'merger', 'api'];

describe('deployment files', () => {
  it('docker-compose.yml parses; workers scale (no fixed ports or names); every role runs a real command with a valid environment', async () => {
    const compose = parseYaml(await readFile('docker-compose.yml', 'utf8'), { merge: true });
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'exporter', 'merger', 'redis', 'scheduler', 'worker']);
    const worker = compose.services.worker;
    expect(worker.ports).toBeUndefined();
    expect(worker.container_name).toBeUndefined();
    for (const name of ['scheduler', 'worker', 'api']) {
      const svc = compose.services[name];
      expect(ROLE_COMMANDS).toContain(svc.command[0]);
      expect(svc.depends_on.redis.condition).toBe('service_healthy');
      // The environment the service would get, with compose's ${VAR:-default} resolved to its default.
      const env = Object.fromEntries(Object.entries(svc.environment as Record<string, string>).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
      expect(() => loadConfig(env)).not.toThrow();
    }
    const redisConf = await readFile('deploy/redis.conf', 'utf8');
    expect(redisConf).toMatch(/^maxmemory-policy noeviction$/m);
  });

  it('the api service serves on every address with the admin credentials from .env; Redis keeps AOF and noeviction', async () => {
    const compose = parseYaml(await readFile('docker-compose.yml', 'utf8'), { merge: true });
    const api = compose.services.api;
    expect(api.environment.API_HOST).toBe('0.0.0.0');
    for (const v of ['ADMIN_USER', 'ADMIN_PASSWORD', 'ADMIN_TOKEN', 'ADMIN_READ_ONLY']) expect(String(api.environment[v]), v).toMatch(new RegExp(`^\\$\\{${v}:-`));
    expect(api.ports).toEqual(['8080:8080']);
    const redisConf = await readFile('deploy/redis.conf', 'utf8');
    expect(redisConf).toMatch(/^appendonly yes$/m);
    expect(redisConf).toMatch(/^maxmemory-policy noeviction$/m);
  });

  it('.env.example lists every variable the program reads, each with its default, and parses as a valid configuration', async () => {
    const lines = (await readFile('.env.example', 'utf8')).split('\n').filter((l) => /^[A-Z_]+=/.test(l));
    const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(Object.keys(env).sort()).toEqual([...CONFIG_VARIABLES].sort());
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('fly.toml parses, runs a real role and checks /livez', async () => {
    const fly = parseToml(await readFile('fly.toml', 'utf8')) as any;
    expect(ROLE_COMMANDS).toContain(fly.processes.app);
    expect(fly.http_service.checks[0].path).toBe('/livez');
    // Production spot is MetalPriceAPI: without its key the poller refuses to start rather than publish simulated spot.
    expect(fly.env.SPOT_FEED).toBe('api');
    expect(() => loadConfig(fly.env)).toThrow(/METAL_PRICE_API_KEY: expected with SPOT_FEED=api/);
    expect(loadConfig({ ...fly.env, METAL_PRICE_API_KEY: 'k'.repeat(32) }).spotFeed.mode).toBe('api');
    expect(fly.kill_signal).toBe('SIGTERM');
  });

  it('the Dockerfile builds from the lockfile and starts the poller program', async () => {
    const docker = await readFile('deploy/Dockerfile', 'utf8');
    expect(docker).toMatch(/npm ci/);
    // The browser tier's Chromium comes from Debian, in the image: nothing downloads a browser at run time.
    expect(docker).toMatch(/apt-get install[^\n]*\bchromium\b/);
    expect(docker).toMatch(/ENTRYPOINT \["node", "bin\/poller\.js"\]/);
  });
});
