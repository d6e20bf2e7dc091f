import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Headless on a server, on a closed network: no sandbox (root in containers), no GPU, no background traffic. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** What to tell a person who has no Chromium. */
export const INSTALL_CHROMIUM = 'install it (bash deploy/install-system-deps.sh, or apt-get install chromium) or set CHROMIUM_PATH to its binary';

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

/**
 * The Chromium binary to drive: `configured` (CHROMIUM_PATH) when given, else `chromium` or `chromium-browser`
 * on PATH (Debian's wrapper replaced by the binary behind it). Null when none is found, with where it looked.
 * Never downloads a browser.
 */
export function locateChromium(configured: string | undefined, path = process.env.PATH ?? ''): { path: string | null; tried: string } {
  if (configured) return { path: executable(configured) ? configured : null, tried: `CHROMIUM_PATH=${configured}` };
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const candidate = join(dir, name);
      if (!executable(candidate)) continue;
      return { path: candidate === DEBIAN_WRAPPER && existsSync(DEBIAN_BINARY) ? DEBIAN_BINARY : candidate, tried: candidate };
    }
  }
  return { path: null, tried: 'chromium, chromium-browser on PATH' };
}
