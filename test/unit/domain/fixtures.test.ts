// Golden fixtures: every *.json in test/fixtures/handwritten and (when present) test/fixtures/captured parses as expected.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";

interface ExpectedMember {
  readonly userId: string;
  readonly deviceId: string;
  readonly application: string;
  readonly callId: string;
  readonly expiresAt: number | null;
  readonly format: string;
}

interface Fixture {
  readonly file: string;
  readonly description: string;
  readonly roomVersion: string | null;
  readonly receivedAt: number;
  readonly event: unknown;
  /** Absent in raw captures that nobody has annotated yet: then the event must merely parse as valid. */
  readonly expect: { readonly kind: string; readonly members: readonly ExpectedMember[] } | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readFixture(file: string): Fixture {
  const raw: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (!isObject(raw) || typeof raw.receivedAt !== "number" || raw.event === undefined) {
    throw new Error(`${file}: not a fixture ({description, roomVersion, receivedAt, event, expect})`);
  }
  let expected: Fixture["expect"] = null;
  if (raw.expect !== undefined) {
    if (!isObject(raw.expect) || typeof raw.expect.kind !== "string")
      throw new Error(`${file}: expect.kind missing`);
    const members = raw.expect.members;
    expected = {
      kind: raw.expect.kind,
      members: Array.isArray(members) ? (members as ExpectedMember[]) : [],
    };
  }
  return {
    file,
    description: typeof raw.description === "string" ? raw.description : file,
    roomVersion: typeof raw.roomVersion === "string" ? raw.roomVersion : null,
    receivedAt: raw.receivedAt,
    event: raw.event,
    expect: expected,
  };
}

const root = join(__dirname, "..", "..", "fixtures");
const fixtures = ["handwritten", "captured"]
  .map((folder) => join(root, folder))
  .filter((dir) => existsSync(dir))
  .flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => name.endsWith(".json"))
      .sort()
      .map((name) => readFixture(join(dir, name))),
  );

test("the hand-written fixture set is present", () => {
  expect(fixtures.filter((f) => f.file.includes("handwritten")).length).toBeGreaterThanOrEqual(10);
});

describe.each(fixtures.map((f) => [`${f.file.slice(root.length + 1)}: ${f.description}`, f] as const))(
  "%s",
  (_name, fixture) => {
    test("parses to the expected kind and members", () => {
      const result = parseMembershipEvent(fixture.event, {
        receivedAt: fixture.receivedAt,
        roomVersion: fixture.roomVersion,
      });
      if (fixture.expect === null) {
        expect(result.kind).toBe("slot");
        return;
      }
      expect(result.kind).toBe(fixture.expect.kind);
      const members = result.kind === "slot" ? result.members : [];
      expect(
        members.map((m) => ({
          userId: m.userId,
          deviceId: m.deviceId,
          application: m.application,
          callId: m.callId,
          expiresAt: m.expiresAt,
          format: m.source.format,
        })),
      ).toEqual(fixture.expect.members);
    });
  },
);
