import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { loadConfig } from '../../src/config/env.js';

/** Headless on a server, on a closed network: no sandbox (root in containers), no GPU, no background traffic. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's /usr/bin/chromium is a wrapper script that prints a warning; the binary behind it does not. */
const DEBIAN_WRAPPER = '/usr/bin/chromium';
const DEBIAN_BINARY = '/usr/lib/chromium/chromium';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** CHROMIUM_PATH (config.chromiumPath), else chromium or chromium-browser on PATH. Never downloads a browser. */
export function findChromium(configured: string | undefined = loadConfig({ CHROMIUM_PATH: process.env.CHROMIUM_PATH }).chromiumPath): string {
  if (configured) {
    if (!executable(configured)) throw new Error(`CHROMIUM_PATH=${configured} is not an executable file`);
    return configured;
  }
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
      const candidate = join(dir, name);
      if (!executable(candidate)) continue;
      return candidate === DEBIAN_WRAPPER && existsSync(DEBIAN_BINARY) ? DEBIAN_BINARY : candidate;
    }
  }
  throw new Error('no Chromium found: install it (bash deploy/install-system-deps.sh, or apt-get install chromium) or set CHROMIUM_PATH to its binary');
}

/** A headless Chromium driven by puppeteer-core. */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({ executablePath: findChromium(), headless: true, args: CHROMIUM_FLAGS });
}
