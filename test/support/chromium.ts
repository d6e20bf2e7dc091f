import puppeteer, { type Browser } from 'puppeteer-core';
import { CHROMIUM_FLAGS, INSTALL_CHROMIUM, locateChromium } from '../../src/browser/chromium.js';
import { loadConfig } from '../../src/config/env.js';

export { CHROMIUM_FLAGS };

/** CHROMIUM_PATH (config.chromiumPath), else chromium or chromium-browser on PATH. Never downloads a browser. */
export function findChromium(configured: string | undefined = loadConfig({ CHROMIUM_PATH: process.env.CHROMIUM_PATH }).chromiumPath): string {
  const found = locateChromium(configured);
  if (!found.path) throw new Error(`no Chromium at ${found.tried}: ${INSTALL_CHROMIUM}`);
  return found.path;
}

/** A headless Chromium driven by puppeteer-core. */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({ executablePath: findChromium(), headless: true, args: [...CHROMIUM_FLAGS] });
}
