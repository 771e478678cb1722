// The bot's encryption state on disk: its current device (to log it out when replaced) and cross-signing keys.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The device the bot logged in last: the token is a secret (it acts as the bot). */
export interface SavedDevice {
  readonly userId: string;
  readonly deviceId: string;
  readonly accessToken: string;
}

/** The private cross-signing keys (base64), the bot's lasting identity: whoever holds them can sign as the bot. */
export interface SavedCrossSigning {
  readonly masterKey: string;
  readonly selfSigningKey: string;
  readonly userSigningKey: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const allStrings = (v: Record<string, unknown>, keys: readonly string[]): boolean =>
  keys.every((k) => typeof v[k] === "string" && v[k] !== "");

/** A directory of small JSON files, created 0700, each written 0600 and replaced atomically. */
export class StateFiles {
  constructor(private readonly dir: string) {}

  /** Creates the directory (0700) if needed; throws with the path when it cannot. */
  prepare(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  device(): SavedDevice | null {
    const v = this.read("device.json");
    return v !== null && allStrings(v, ["userId", "deviceId", "accessToken"])
      ? { userId: String(v.userId), deviceId: String(v.deviceId), accessToken: String(v.accessToken) }
      : null;
  }

  saveDevice(d: SavedDevice): void {
    this.write("device.json", d);
  }

  crossSigning(): SavedCrossSigning | null {
    const v = this.read("cross-signing.json");
    return v !== null && allStrings(v, ["masterKey", "selfSigningKey", "userSigningKey"])
      ? {
          masterKey: String(v.masterKey),
          selfSigningKey: String(v.selfSigningKey),
          userSigningKey: String(v.userSigningKey),
        }
      : null;
  }

  saveCrossSigning(keys: SavedCrossSigning): void {
    this.write("cross-signing.json", keys);
  }

  private read(name: string): Record<string, unknown> | null {
    const path = join(this.dir, name);
    if (!existsSync(path)) return null;
    try {
      const v: unknown = JSON.parse(readFileSync(path, "utf8"));
      return isRecord(v) ? v : null;
    } catch {
      return null;
    }
  }

  private write(name: string, value: object): void {
    const path = join(this.dir, name);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  }
}
