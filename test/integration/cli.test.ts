// The CLI as operators run it (bin/matrix-rtc-reconciler, compiled dist/): registration, config checks, usage.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

const cli = (args: string[]) => {
  const res = spawnSync("bin/matrix-rtc-reconciler", args, { encoding: "utf8", timeout: 20_000 });
  return { code: res.status, out: res.stdout, err: res.stderr };
};

describe("bin/matrix-rtc-reconciler", () => {
  const dir = mkdtempSync(join(tmpdir(), "rtc-cli-"));

  test("-r -u URL -f FILE writes a registration with the expected fields, readable by its owner only", () => {
    const file = join(dir, "reg.yaml");
    const res = cli(["-r", "-u", "http://127.0.0.1:9000", "-f", file, "-d", "example.org"]);
    expect(res.code).toBe(0);
    const reg = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(reg).toMatchObject({
      url: "http://127.0.0.1:9000",
      sender_localpart: "rtc-reconciler",
      rate_limited: false,
      "de.sorunome.msc2409.push_ephemeral": false,
      namespaces: {
        users: [
          { exclusive: true, regex: "@rtc-reconciler:example\\.org" },
          { exclusive: false, regex: "@.*:example\\.org" },
        ],
        rooms: [{ exclusive: false, regex: ".*" }],
      },
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("-r keeps an existing file unless --force, and a forced write leaves it 0600", () => {
    const file = join(dir, "existing.yaml");
    writeFileSync(file, "# the registration Synapse loaded\n", { mode: 0o644 });
    chmodSync(file, 0o644);
    const refused = cli(["-r", "-u", "http://127.0.0.1:9000", "-f", file, "-d", "example.org"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`${file} exists; not replacing it. Give --force`);
    expect(readFileSync(file, "utf8")).toBe("# the registration Synapse loaded\n");
    expect(statSync(file).mode & 0o777).toBe(0o644);

    const forced = cli(["-r", "-u", "http://127.0.0.1:9000", "-f", file, "-d", "example.org", "--force"]);
    expect(forced.code).toBe(0);
    expect(parse(readFileSync(file, "utf8"))).toMatchObject({ url: "http://127.0.0.1:9000" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("-l sets the bot's localpart; without -d the namespaces match any server", () => {
    const file = join(dir, "reg2.yaml");
    expect(cli(["-r", "-u", "http://127.0.0.1:9000", "-f", file, "-l", "callbot"]).code).toBe(0);
    const reg = parse(readFileSync(file, "utf8")) as {
      sender_localpart: string;
      namespaces: { users: unknown[] };
    };
    expect(reg.sender_localpart).toBe("callbot");
    expect(reg.namespaces.users).toEqual([
      { exclusive: true, regex: "@callbot:.+" },
      { exclusive: false, regex: "@.*:.+" },
    ]);
  });

  test("--check-config accepts config.sample.yaml", () => {
    const res = cli(["-c", "config.sample.yaml", "--check-config"]);
    expect(res.code).toBe(0);
    expect(res.out).toContain("OK");
  });

  test("--check-config names an unknown key, a wrong type and a missing secret file", () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      [
        "homeserver: {url: 'http://127.0.0.1:8008', domain: example.org, colour: blue}",
        "appservice: {port: nine}",
        "livekit:",
        "  deployments:",
        "    - {name: a, service_urls: ['https://jwt.example.org'], api_url: 'http://127.0.0.1:7880', api_key: k, api_secret_file: missing-secret}",
      ].join("\n"),
    );
    const res = cli(["-c", file, "--check-config"]);
    expect(res.code).not.toBe(0);
    expect(res.err).toContain("homeserver.colour: unknown key");
    expect(res.err).toMatch(/appservice\.port: .*expected number/);
    expect(res.err).toMatch(
      /livekit\.deployments\.0\.api_secret_file: cannot read secret file .*missing-secret/,
    );
  });

  test("bad usage exits 2 with the usage text", () => {
    const res = cli(["--frobnicate"]);
    expect(res.code).toBe(2);
    expect(res.err).toContain("Usage:");
    expect(cli(["-r"]).err).toContain("-r needs -u URL");
  });
});
