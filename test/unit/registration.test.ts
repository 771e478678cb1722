import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import {
  generateRegistration,
  loadRegistration,
  registrationToYaml,
  userNamespaceMatcher,
} from "../../src/adapters/matrix/registration";

describe("registration", () => {
  const reg = generateRegistration({
    url: "http://127.0.0.1:9000",
    localpart: "rtc-reconciler",
    domain: "example.org",
  });

  test("has random id and tokens, the bot exclusive, local users and all rooms non-exclusive, to-device and MSC3202 for the encrypted device", () => {
    const other = generateRegistration({
      url: "http://127.0.0.1:9000",
      localpart: "rtc-reconciler",
      domain: "example.org",
    });
    expect(reg.id).not.toBe(other.id);
    expect(reg.as_token).not.toBe(other.as_token);
    expect(reg.as_token).not.toBe(reg.hs_token);
    expect(reg.as_token).toMatch(/^[0-9a-f]{64}$/);
    expect(reg.rate_limited).toBe(false);
    // The bot's encrypted device gets its to-device messages, device lists and key counts in transactions.
    expect(reg["de.sorunome.msc2409.push_ephemeral"]).toBe(true);
    expect(reg["org.matrix.msc3202"]).toBe(true);
    expect(reg.namespaces.users).toEqual([
      { exclusive: true, regex: "@rtc-reconciler:example\\.org" },
      { exclusive: false, regex: "@.*:example\\.org" },
    ]);
    expect(reg.namespaces.rooms).toEqual([{ exclusive: false, regex: ".*" }]);
  });

  test("the namespace covers local users only", () => {
    const matches = userNamespaceMatcher(reg);
    expect(matches("@alice:example.org")).toBe(true);
    expect(matches("@rtc-reconciler:example.org")).toBe(true);
    expect(matches("@alice:other.org")).toBe(false);
    expect(matches("@alice:exampleXorg")).toBe(false);
  });

  test("round-trips through YAML", () => {
    const dir = mkdtempSync(join(tmpdir(), "rtc-reg-"));
    writeFileSync(join(dir, "r.yaml"), registrationToYaml(reg));
    expect(loadRegistration(join(dir, "r.yaml"))).toEqual(reg);
  });

  test("an invalid registration names its problems", () => {
    const dir = mkdtempSync(join(tmpdir(), "rtc-reg-"));
    writeFileSync(join(dir, "r.yaml"), "id: x\nurl: null\nas_token: short\n");
    expect(() => loadRegistration(join(dir, "r.yaml"))).toThrow(
      /as_token[\s\S]*hs_token[\s\S]*sender_localpart/,
    );
  });

  test("a registration that is not valid YAML names the position, never the line holding a token", () => {
    const dir = mkdtempSync(join(tmpdir(), "rtc-reg-"));
    const token = "f00dfeedf00dfeedf00dfeedf00dfeed";
    writeFileSync(join(dir, "r.yaml"), `id: x\nas_token: ${token}: oops\nhs_token: "${token}\n`);
    let message = "";
    try {
      loadRegistration(join(dir, "r.yaml"));
    } catch (err) {
      message = err instanceof Error ? err.message : String(err);
    }
    expect(message).toMatch(
      /^invalid registration .*r\.yaml:\n {2}- not valid YAML at line 2, column \d+ \(/,
    );
    expect(message).not.toContain(token);
  });

  test("registration.example.yaml has the generated shape", () => {
    const example: unknown = parse(readFileSync("registration.example.yaml", "utf8"));
    expect(Object.keys(example as object).sort()).toEqual(Object.keys(reg).sort());
    expect(loadRegistration("registration.example.yaml").namespaces).toEqual(reg.namespaces);
  });
});
