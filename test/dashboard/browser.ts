/**
 * A real browser for the dashboard tests: Debian's Chromium driven by playwright-core (`.ci/run`
 * installs the `chromium` package when missing). Headless, sandbox off (tests run as root in a
 * container), and every background service off so that it makes no network request of its own.
 * {@link findChromium} returns null where no browser exists; the tests then skip, saying why.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Where screenshots of the main views are saved (gitignored; CI can keep them as artifacts). */
export const SCREENSHOTS = join(import.meta.dir, "..", "..", ".tmp", "dashboard");

/** The Chromium binary: `$CHROMIUM_PATH`, else Debian's, else null. */
export function findChromium(): string | null {
  for (const path of [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (path && existsSync(path)) return path;
  }
  return null;
}

/** A browser with a fresh profile; `close()` ends it and deletes the profile. */
export async function launchBrowser(executablePath: string): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "sn-dashboard-chromium-"));
  mkdirSync(SCREENSHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1366, height: 800 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
