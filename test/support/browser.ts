/**
 * Headless Chromium for the browser tests: Debian's build, driven by playwright-core (never a
 * downloaded browser). Tests skip with a message where it is not installed.
 *
 * @module
 */
import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when {@linkcode CHROMIUM} is installed. */
export const chromiumPresent: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Launches headless Chromium with what a test on loopback needs (autoplay, no background noise). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // lets a test start playback without a user gesture
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}
