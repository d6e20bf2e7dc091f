import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import { loadConfig } from '../src/config/env.js';

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

  it('fly.toml parses, runs a real role and checks /healthz', async () => {
    const fly = parseToml(await readFile('fly.toml', 'utf8')) as any;
    expect(ROLE_COMMANDS).toContain(fly.processes.app);
    expect(fly.http_service.checks[0].path).toBe('/healthz');
    expect(() => loadConfig(fly.env)).not.toThrow();
    expect(fly.kill_signal).toBe('SIGTERM');
  });

  it('the Dockerfile builds from the lockfile and starts the poller program', async () => {
    const docker = await readFile('deploy/Dockerfile', 'utf8');
    expect(docker).toMatch(/npm ci/);
    expect(docker).toMatch(/ENTRYPOINT \["node", "bin\/poller\.js"\]/);
  });
});
