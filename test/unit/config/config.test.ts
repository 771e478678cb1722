import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError, loadConfig, validateConfig } from "../../../src/config/load";
import { configSchema } from "../../../src/config/schema";
import { parseDuration } from "../../../src/config/duration";
import { configWarnings } from "../../../src/config/warnings";

const minimal = { homeserver: { url: "http://127.0.0.1:8008", domain: "example.org" } };
/** LiveKit refuses secrets under 32 characters, so every valid one in these tests is at least that long. */
const SECRET = "a-secret-of-at-least-32-characters-long";

function problemsOf(raw: unknown, baseDir = "/"): string[] {
  try {
    validateConfig(raw, "test.yaml", baseDir);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe("config", () => {
  test("config.sample.yaml parses and validates", () => {
    const config = loadConfig("config.sample.yaml");
    expect(config.homeserver.domain).toBe("example.org");
    expect(config.livekit.deployments[0]?.name).toBe("main");
    expect(config.reconciliation.sfu_leave_grace).toBe(5000);
  });

  test("a minimal config gets every default", () => {
    const config = validateConfig(minimal, "test.yaml", "/");
    expect(config.appservice).toEqual({
      bind_address: "127.0.0.1",
      port: 9000,
      registration: "registration.yaml",
    });
    expect(config.database.path).toBe("./data/matrix-rtc-reconciler.db");
    expect(config.reconciliation.connect_grace).toBe(60_000);
    expect(config.reconciliation.dry_run).toBe(true);
    expect(config.reconciliation.actions.remove_orphan_participants).toBe(false);
    expect(config.commands.prefix).toBe("!rtc");
    expect(config.metrics.bind_address).toBe("127.0.0.1");
    expect(config.history.retention).toBe(90 * 86_400_000);
  });

  test("an unknown key and a wrong type are both reported with their paths", () => {
    const problems = problemsOf({
      ...minimal,
      homeserver: { ...minimal.homeserver, colour: "blue" },
      appservice: { port: "nine" },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        "homeserver.colour: unknown key",
        expect.stringMatching(/^appservice\.port: .*expected number/),
      ]),
    );
  });

  test("missing required keys are named", () => {
    expect(problemsOf({})).toEqual(expect.arrayContaining([expect.stringMatching(/^homeserver: /)]));
  });

  test('a missing key reads "required", at any depth', () => {
    expect(problemsOf({})).toEqual(["homeserver: required (expected object)"]);
    expect(problemsOf({ homeserver: { domain: "example.org" } })).toEqual([
      "homeserver.url: required (expected string)",
    ]);
    const deployment = {
      name: "a",
      service_urls: ["https://jwt.example.org"],
      api_url: "http://127.0.0.1:7880",
    };
    expect(problemsOf({ ...minimal, livekit: { deployments: [{ ...deployment, api_key: "k" }] } })).toEqual([
      "livekit.deployments.0.api_secret: required (expected string)",
    ]);
    // A key that is given but wrong keeps the parser's own words.
    expect(problemsOf({ homeserver: { ...minimal.homeserver, url: 8008 } })).toEqual([
      "homeserver.url: expected an http:// or https:// URL",
    ]);
  });

  test("an unknown key suggests the nearest known one: same level first, else the same name in another section", () => {
    expect(problemsOf({ ...minimal, reconciliation: { dryrun: false } })).toEqual([
      "reconciliation.dryrun: unknown key; did you mean `dry_run`?",
    ]);
    expect(problemsOf({ ...minimal, reconciliation: { sfu_leave_grase: "5s" } })).toEqual([
      "reconciliation.sfu_leave_grase: unknown key; did you mean `sfu_leave_grace`?",
    ]);
    expect(problemsOf({ ...minimal, reconciliation: { "dry-run": false } })).toEqual([
      "reconciliation.dry-run: unknown key; did you mean `dry_run`?",
    ]);
    expect(problemsOf({ ...minimal, dry_run: false })).toEqual([
      "dry_run: unknown key; did you mean `reconciliation.dry_run`?",
    ]);
    expect(
      problemsOf({
        ...minimal,
        livekit: {
          deployments: [
            {
              name: "a",
              service_url: ["https://jwt.example.org"],
              api_url: "http://127.0.0.1:7880",
              api_key: "k",
              api_secret: SECRET,
            },
          ],
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        "livekit.deployments.0.service_url: unknown key; did you mean `service_urls`?",
      ]),
    );
    // Nothing close: no guess.
    expect(problemsOf({ ...minimal, appservice: { colour: "blue" } })).toEqual([
      "appservice.colour: unknown key",
    ]);
  });

  test("a LiveKit secret shorter than 32 characters is refused (LiveKit itself refuses it), without echoing it", () => {
    const deployment = {
      name: "a",
      service_urls: ["https://jwt.example.org"],
      api_url: "http://127.0.0.1:7880",
      api_key: "k",
    };
    const problems = problemsOf({
      ...minimal,
      livekit: {
        deployments: [
          { ...deployment, api_secret: "hunt2", webhook_keys: ["w"], webhook_secrets: { w: "a".repeat(31) } },
        ],
      },
    });
    expect(problems).toEqual([
      "livekit.deployments.0.api_secret: shorter than 32 characters: LiveKit refuses such secrets, so this cannot be one of its keys",
      "livekit.deployments.0.webhook_secrets.w: shorter than 32 characters: LiveKit refuses such secrets, so this cannot be one of its keys",
    ]);
    expect(problems.join("\n")).not.toContain("hunt2");
    expect(
      problemsOf({ ...minimal, livekit: { deployments: [{ ...deployment, api_secret: "a".repeat(32) }] } }),
    ).toEqual([]);
  });

  test("bad durations and cron expressions are named", () => {
    const problems = problemsOf({
      ...minimal,
      reconciliation: { sfu_leave_grace: "soon" },
      schedules: { sweep: "every minute" },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^reconciliation\.sfu_leave_grace: expected a duration/),
        expect.stringMatching(/^schedules\.sweep: not a valid cron expression/),
      ]),
    );
  });

  describe("secrets from files", () => {
    const dir = mkdtempSync(join(tmpdir(), "rtc-config-"));
    writeFileSync(join(dir, "secret"), `${SECRET}\n`);
    const deployment = {
      name: "a",
      service_urls: ["https://jwt.example.org"],
      api_url: "http://127.0.0.1:7880",
    };

    test("`<key>_file` is read relative to the config file, trailing newline dropped", () => {
      const config = validateConfig(
        {
          ...minimal,
          livekit: { deployments: [{ ...deployment, api_key: "k", api_secret_file: "secret" }] },
        },
        "test.yaml",
        dir,
      );
      expect(config.livekit.deployments[0]?.api_secret).toBe(SECRET);
    });

    test("a missing secret file is named once", () => {
      const problems = problemsOf(
        { ...minimal, livekit: { deployments: [{ ...deployment, api_key: "k", api_secret_file: "nope" }] } },
        dir,
      );
      expect(problems).toEqual([
        expect.stringMatching(
          /^livekit\.deployments\.0\.api_secret_file: cannot read secret file .*nope \(ENOENT\)$/,
        ),
      ]);
    });

    test("giving both the key and its file is refused", () => {
      const problems = problemsOf(
        {
          ...minimal,
          livekit: {
            deployments: [{ ...deployment, api_key: "k", api_secret: SECRET, api_secret_file: "secret" }],
          },
        },
        dir,
      );
      expect(problems).toEqual([
        "livekit.deployments.0.api_secret_file: give either api_secret or api_secret_file, not both",
      ]);
    });
  });

  test("an unreadable or non-YAML file is a ConfigError", () => {
    const dir = mkdtempSync(join(tmpdir(), "rtc-config-"));
    writeFileSync(join(dir, "bad.yaml"), "homeserver: [unclosed");
    expect(() => loadConfig(join(dir, "bad.yaml"))).toThrow(/not valid YAML/);
    expect(() => loadConfig(join(dir, "missing.yaml"))).toThrow(/cannot read the config file \(ENOENT\)/);
  });

  describe("YAML errors name a position, never the line (it may hold a secret)", () => {
    const dir = mkdtempSync(join(tmpdir(), "rtc-config-yaml-"));
    const problemsIn = (name: string, text: string): string[] => {
      writeFileSync(join(dir, name), text);
      try {
        loadConfig(join(dir, name));
      } catch (err) {
        if (err instanceof ConfigError) return [...err.problems];
        throw err;
      }
      return [];
    };

    test.each([
      [
        "a nested mapping",
        "livekit:\n  api_secret: hunter2-s3cret: more\n",
        /^not valid YAML at line 2, column \d+ \(/,
      ],
      [
        "an unclosed quote",
        'homeserver:\n  url: "hunter2-s3cret\n',
        /^not valid YAML at line \d+, column \d+ \(/,
      ],
      ["a stray token", "- a\nhunter2-s3cret: c\n", /^not valid YAML at line 2, column \d+ \(/],
      ["an unknown tag", "homeserver: !hunter2-s3cret x\n", /^not valid YAML at line 1, column 13 \(/],
      ["an undefined alias", "homeserver: *hunter2-s3cret\n", /^not valid YAML: an alias/],
    ])("%s", (_name, text, expected) => {
      const problems = problemsIn("bad.yaml", text);
      expect(problems.length).toBeGreaterThan(0);
      expect(problems[0]).toMatch(expected);
      expect(problems.join("\n")).not.toContain("hunter2");
    });
  });

  describe("LiveKit deployments", () => {
    const deployment = (name: string, apiKey: string, extra: Record<string, unknown> = {}) => ({
      name,
      service_urls: [`https://${name}.example.org/livekit/jwt`],
      api_url: "http://127.0.0.1:7880",
      api_key: apiKey,
      api_secret: SECRET,
      ...extra,
    });
    const withDeployments = (...deployments: unknown[]) => ({ ...minimal, livekit: { deployments } });

    test("distinct names, keys and URLs with a secret per webhook key are accepted", () => {
      expect(
        problemsOf(
          withDeployments(
            deployment("eu", "k-eu", { webhook_keys: ["w-eu"], webhook_secrets: { "w-eu": SECRET } }),
            deployment("us", "k-us"),
          ),
        ),
      ).toEqual([]);
    });

    test("a deployment name used twice is an error at the second one", () => {
      expect(
        problemsOf(
          withDeployments(
            deployment("main", "k1"),
            deployment("main", "k2", { service_urls: ["https://other.example.org/livekit/jwt"] }),
          ),
        ),
      ).toEqual([
        "livekit.deployments.1.name: the same deployment name as livekit.deployments.0.name; each may appear once across all deployments",
      ]);
    });

    test("an API key used twice, as api_key or webhook key, in one deployment or across two, is an error", () => {
      const problems = problemsOf(
        withDeployments(
          deployment("eu", "shared", { webhook_keys: ["w"], webhook_secrets: { w: SECRET } }),
          deployment("us", "shared", {
            webhook_keys: ["w", "us"],
            webhook_secrets: { w: SECRET, us: SECRET },
          }),
          deployment("ap", "ap", { webhook_keys: ["ap"], webhook_secrets: { ap: SECRET } }),
        ),
      );
      expect(problems).toEqual([
        "livekit.deployments.1.api_key: the same API key as livekit.deployments.0.api_key; each may appear once across all deployments",
        "livekit.deployments.1.webhook_keys.0: the same API key as livekit.deployments.0.webhook_keys.0; each may appear once across all deployments",
        "livekit.deployments.2.webhook_keys.0: the same API key as livekit.deployments.2.api_key; each may appear once across all deployments",
      ]);
    });

    test("a service URL under two deployments (however it is spelt) is an error", () => {
      const problems = problemsOf(
        withDeployments(
          deployment("eu", "k1"),
          deployment("us", "k2", { service_urls: ["https://EU.example.org/livekit/jwt/"] }),
        ),
      );
      expect(problems).toEqual([
        "livekit.deployments.1.service_urls.0: the same service URL as livekit.deployments.0.service_urls.0; each may appear once across all deployments",
      ]);
    });

    test("a webhook key without a secret, and a secret without a listed key, are errors", () => {
      const problems = problemsOf(
        withDeployments(
          deployment("main", "k", {
            webhook_keys: ["w1", "w2"],
            webhook_secrets: { w1: SECRET, w3: SECRET },
          }),
        ),
      );
      expect(problems).toEqual([
        "livekit.deployments.0.webhook_keys.1: this key has no secret under webhook_secrets",
        "livekit.deployments.0.webhook_secrets.w3: this secret's key is not listed under webhook_keys",
      ]);
    });
  });

  describe("warnings: valid, but surely a mistake", () => {
    test("config.sample.yaml passes, with a warning for each placeholder it holds", () => {
      expect(configWarnings(loadConfig("config.sample.yaml"))).toEqual([
        "homeserver.domain: example.org is the sample's placeholder; give your server name (the part after ':' in your user ids)",
        "livekit.deployments.0.api_secret: still the sample's placeholder; give the secret of LiveKit's key \"reconciler\" (or api_secret_file)",
        "livekit.deployments.0.service_urls.0: https://rtc.example.org/livekit/jwt is the sample's placeholder; list the livekit_service_url your clients use (your MatrixRTC JWT service)",
      ]);
    });

    test("placeholder secrets are named by path, never quoted; real values get no warning", () => {
      const placeholder = "CHANGEME-please-to-a-32-character-secret";
      const config = validateConfig(
        {
          homeserver: { url: "http://127.0.0.1:8008", domain: "matrix.chat" },
          livekit: {
            deployments: [
              {
                name: "a",
                service_urls: ["https://rtc.matrix.chat/livekit/jwt"],
                api_url: "http://127.0.0.1:7880",
                api_key: "k",
                api_secret: SECRET,
                webhook_keys: ["w"],
                webhook_secrets: { w: placeholder },
              },
            ],
          },
        },
        "test.yaml",
        "/",
      );
      const warnings = configWarnings(config);
      expect(warnings).toEqual([
        "livekit.deployments.0.webhook_secrets.w: still a placeholder; give the secret of that LiveKit key",
      ]);
      expect(warnings.join("\n")).not.toContain(placeholder);
      config.livekit.deployments[0]!.webhook_secrets.w = SECRET;
      expect(configWarnings(config)).toEqual([]);
    });
  });

  test("every key of the schema appears in config.sample.yaml", () => {
    const sample: unknown = parse(readFileSync("config.sample.yaml", "utf8"));
    const missing: string[] = [];
    const walk = (schema: z.ZodType, value: unknown, path: string) => {
      let inner: z.ZodType = schema;
      while (
        inner instanceof z.ZodDefault ||
        inner instanceof z.ZodPrefault ||
        inner instanceof z.ZodOptional
      ) {
        inner = inner.unwrap() as z.ZodType;
      }
      if (inner instanceof z.ZodArray && Array.isArray(value) && value.length > 0) {
        walk(inner.element as z.ZodType, value[0], `${path}[]`);
      } else if (inner instanceof z.ZodObject) {
        const record = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
        const shape: Record<string, z.ZodType> = inner.shape;
        for (const [key, child] of Object.entries(shape)) {
          const childPath = path ? `${path}.${key}` : key;
          if (!(key in record)) missing.push(childPath);
          else walk(child, record[key], childPath);
        }
      }
    };
    walk(configSchema, sample, "");
    expect(missing).toEqual([]);
  });
});

describe("durations", () => {
  test.each([
    ["250ms", 250],
    ["5s", 5000],
    ["1.5m", 90_000],
    ["4h", 14_400_000],
    ["30d", 2_592_000_000],
    ["0", 0],
    [1200, 1200],
  ])("%p is %p ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });
  test.each(["", "5 minutes", "-1s", "1w"])("%p is refused", (input) => {
    expect(parseDuration(input)).toBeNull();
  });
});
