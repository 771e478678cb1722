// The bot device's adapter pieces without a homeserver: what a transaction holds for it, its state files, its registration check.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BotDevice, EncryptionStartError } from "../../../src/adapters/crypto/bot-device";
import { forDevice } from "../../../src/adapters/crypto/device-feed";
import { StateFiles } from "../../../src/adapters/crypto/state-files";
import { MatrixHttp } from "../../../src/adapters/matrix/http";
import { RecordingLogger } from "../app/fakes/recorders";

const BOT = "@rtc-reconciler:example.org";
const DEV = "BOTDEV";

describe("forDevice", () => {
  test("keeps only the bot device's to-device messages, without the routing fields", () => {
    const mine = {
      type: "m.room.encrypted",
      sender: "@alice:example.org",
      content: { algorithm: "m.olm.v1" },
    };
    const body = {
      events: [],
      "de.sorunome.msc2409.to_device": [
        { ...mine, to_user_id: BOT, to_device_id: DEV },
        { ...mine, to_user_id: BOT, to_device_id: "OLDDEVICE" },
        { ...mine, to_user_id: "@bob:example.org", to_device_id: DEV },
        "not an event",
        null,
      ],
    };
    expect(forDevice(body, BOT, DEV).toDevice).toEqual([mine]);
  });

  test("reads device lists, this device's key counts and fallback keys; anything malformed is left out", () => {
    const body = {
      "org.matrix.msc3202.device_lists": { changed: ["@alice:example.org", 5], left: "nope" },
      "org.matrix.msc3202.device_one_time_keys_count": {
        [BOT]: { [DEV]: { signed_curve25519: 42, bad: "x" }, OTHER: { signed_curve25519: 1 } },
      },
      "org.matrix.msc3202.device_unused_fallback_key_types": { [BOT]: { [DEV]: ["signed_curve25519", 7] } },
    };
    const d = forDevice(body, BOT, DEV);
    expect(d.changed).toEqual(["@alice:example.org"]);
    expect(d.left).toEqual([]);
    expect([...(d.otkCounts ?? new Map<string, number>())]).toEqual([["signed_curve25519", 42]]);
    expect([...(d.fallbackKeys ?? new Set<string>())]).toEqual(["signed_curve25519"]);
  });

  test("a transaction without extensions holds nothing for the device (counts unknown, not zero)", () => {
    expect(forDevice({ events: [] }, BOT, DEV)).toEqual({
      toDevice: [],
      changed: [],
      left: [],
      otkCounts: null,
      fallbackKeys: null,
    });
  });
});

describe("StateFiles", () => {
  let dir = "";
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), "rtcrec-crypto-")), "store");
  });
  afterEach(() => {
    rmSync(join(dir, ".."), { recursive: true, force: true });
  });

  test("keeps the device and the cross-signing keys, readable by the service only", () => {
    const files = new StateFiles(dir);
    files.prepare();
    files.saveDevice({ userId: BOT, deviceId: DEV, accessToken: "secret" });
    files.saveCrossSigning({ masterKey: "m", selfSigningKey: "s", userSigningKey: "u" });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "device.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "cross-signing.json")).mode & 0o777).toBe(0o600);
    const again = new StateFiles(dir);
    expect(again.device()).toEqual({ userId: BOT, deviceId: DEV, accessToken: "secret" });
    expect(again.crossSigning()).toEqual({ masterKey: "m", selfSigningKey: "s", userSigningKey: "u" });
    expect(readFileSync(join(dir, "device.json"), "utf8")).toContain('"deviceId":"BOTDEV"');
  });

  test("missing or damaged files read as nothing rather than as a half device", () => {
    const files = new StateFiles(dir);
    files.prepare();
    expect(files.device()).toBeNull();
    writeFileSync(join(dir, "device.json"), "{not json");
    expect(files.device()).toBeNull();
    writeFileSync(join(dir, "device.json"), JSON.stringify({ userId: BOT, deviceId: DEV }));
    expect(files.device()).toBeNull();
    writeFileSync(join(dir, "cross-signing.json"), JSON.stringify({ masterKey: "m", selfSigningKey: 1 }));
    expect(files.crossSigning()).toBeNull();
  });
});

describe("BotDevice.start", () => {
  const unusable = new MatrixHttp({
    baseUrl: "http://127.0.0.1:9",
    accessToken: "x",
    logger: new RecordingLogger(),
  });
  test.each([
    [
      { "de.sorunome.msc2409.push_ephemeral": false, "org.matrix.msc3202": true },
      "de.sorunome.msc2409.push_ephemeral: true",
    ],
    [{ "de.sorunome.msc2409.push_ephemeral": true }, "org.matrix.msc3202: true"],
  ])(
    "a registration without what room keys need is refused before any request: %j",
    async (registration, lacks) => {
      const start = BotDevice.start({
        baseUrl: "http://127.0.0.1:9",
        botUserId: BOT,
        appservice: unusable,
        httpFor: () => unusable,
        files: new StateFiles(join(tmpdir(), "never-created")),
        logger: new RecordingLogger(),
        sleep: () => Promise.resolve(),
        registration,
      });
      await expect(start).rejects.toThrow(EncryptionStartError);
      await expect(start).rejects.toThrow(`the registration lacks ${lacks}`);
    },
  );
});
