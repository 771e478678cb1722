// The product's version, read from the package.json shipped beside the code (not from npm's environment).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const NAME = "matrix-rtc-reconciler";

/** Walks up from `start` to this product's package.json and returns its version; null when none is found. */
export function productVersion(start: string = __dirname): string | null {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
        if (pkg.name === NAME && typeof pkg.version === "string") return pkg.version;
      } catch {
        // Not ours, or unreadable: keep looking further up.
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

/** The line `--version` prints. */
export function versionLine(): string {
  return `${NAME} ${productVersion() ?? "(version unknown: package.json not found)"}`;
}
