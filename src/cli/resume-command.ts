import { setVendorPaused } from './pause-command.js';

/** `poller resume <vendor>`: Queue.resume() of scrape.{vendor}; its waiting jobs are taken again. */
export function resumeCommand(vendor: string, json: boolean): Promise<number> {
  return setVendorPaused(vendor, false, json);
}
