// The CLI as operators run it (bin/matrix-rtc-reconciler, compiled dist/): registration, config checks, usage.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

/** The environment of a shell outside npm: `npm test` sets npm_package_* variables the CLI must not rely on. */
const plainEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")));

const cli = (args: string[]) => {
  const res = spawnSync("bin/matrix-rtc-reconciler", args, {
    encoding: "utf8",
    timeout: 20_000,
    env: plainEnv(),
  });
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
      "de.sorunome.msc2409.push_ephemeral": true,
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

  test("--check-config accepts config.sample.yaml, warning about each placeholder it still holds", () => {
    const reg = join(dir, "sample-reg.yaml");
    expect(cli(["-r", "-u", "http://127.0.0.1:9000", "-f", reg, "-d", "matrix.chat"]).code).toBe(0);
    const res = cli(["-c", "config.sample.yaml", "-f", reg, "--check-config"]);
    expect(res.code).toBe(0);
    expect(res.out).toBe(
      [
        "config.sample.yaml: OK, with 3 warning(s) above",
        "The homeserver must also (checked when the service starts, not here):",
        "  - load the registration (Synapse: app_service_config_files) and reach the service on port 9000",
        "  - for encryption.enabled: experimental_features msc2409_to_device_messages_enabled: true and msc3202_transaction_extensions: true (Synapse), so room keys reach the bot's device",
        "  - optional, for clients' own delayed leaves: delayed events (Synapse: max_event_delay_duration), which the service fires before writing a leave itself",
        "",
      ].join("\n"),
    );
    expect(res.err).toContain(
      "warning: livekit.deployments.0.api_secret: still the sample's placeholder; give the secret of LiveKit's key \"reconciler\"",
    );
    expect(res.err).not.toContain("change-me");
  });

  test("--check-config warns about a registration that is missing, or lacks what encryption needs", () => {
    const missing = cli(["-c", "config.sample.yaml", "-f", join(dir, "no-such-reg.yaml"), "--check-config"]);
    expect(missing.code).toBe(0);
    expect(missing.err).toMatch(
      /warning: appservice\.registration: cannot read registration .*no-such-reg\.yaml \(ENOENT\); write one with -r/,
    );
    const old = join(dir, "old-reg.yaml");
    expect(cli(["-r", "-u", "http://127.0.0.1:9000", "-f", old, "-d", "matrix.chat"]).code).toBe(0);
    const text = readFileSync(old, "utf8").replace(/^org\.matrix\.msc3202: true\n/m, "");
    writeFileSync(old, text);
    const lacking = cli(["-c", "config.sample.yaml", "-f", old, "--check-config"]);
    expect(lacking.code).toBe(0);
    expect(lacking.err).toContain(
      `warning: appservice.registration: ${old} lacks org.matrix.msc3202: true, which encryption.enabled needs`,
    );
    expect(lacking.out).toContain("OK, with 4 warning(s) above");
  });

  test("--check-config refuses a short LiveKit secret, says required for a missing key and suggests a misspelt one", () => {
    const file = join(dir, "mistakes.yaml");
    writeFileSync(
      file,
      [
        "homeserver: {domain: matrix.chat}",
        "reconciliation: {dryrun: false}",
        "livekit:",
        "  deployments:",
        "    - {name: a, service_urls: ['https://jwt.matrix.chat'], api_url: 'http://127.0.0.1:7880', api_key: k, api_secret: hunt2}",
      ].join("\n"),
    );
    const res = cli(["-c", file, "--check-config"]);
    expect(res.code).toBe(1);
    expect(res.err).toBe(
      [
        `${file}: 3 problem(s):`,
        "  - homeserver.url: required (expected string)",
        "  - livekit.deployments.0.api_secret: shorter than 32 characters: LiveKit refuses such secrets, so this cannot be one of its keys",
        "  - reconciliation.dryrun: unknown key; did you mean `dry_run`?",
        "",
      ].join("\n"),
    );
  });

  test("--version prints the version from package.json, also outside npm", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    const res = cli(["--version"]);
    expect(res).toEqual({ code: 0, out: `matrix-rtc-reconciler ${pkg.version}\n`, err: "" });
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
