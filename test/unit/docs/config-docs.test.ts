// purpose: docs/configuration.md stays generated from the schema: fresh, every key described, defaults as in the sample.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { z } from "zod";
import {
  BEGIN_MARKER,
  END_MARKER,
  configKeys,
  configReference,
  generatedPart,
  spliceGenerated,
} from "../../../scripts/docs/config-reference";

// That every schema key appears in config.sample.yaml is checked in test/unit/config/config.test.ts.

const DOC = "docs/configuration.md";
const doc = readFileSync(DOC, "utf8");

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at a documented path (`a.b[].c` reads the first element of `a.b`); undefined when absent. */
function valueAt(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const part of path.split(".")) {
    const list = part.endsWith("[]");
    const name = list ? part.slice(0, -2) : part;
    if (!isRecord(current) || !(name in current)) return undefined;
    current = current[name];
    if (list) current = Array.isArray(current) ? (current[0] as unknown) : undefined;
  }
  return current;
}

describe("docs/configuration.md", () => {
  test("holds one generated block, and it is up to date with src/config/schema.ts", () => {
    expect(doc.split(BEGIN_MARKER)).toHaveLength(2);
    expect(doc.split(END_MARKER)).toHaveLength(2);
    const fresh = generatedPart(spliceGenerated(doc, configReference()));
    // On failure: npm run build && node dist/scripts/docs/config-reference.js
    expect(generatedPart(doc)).toBe(fresh);
  });

  test("every key of the schema, sections included, has a description", () => {
    const undocumented = configKeys()
      .filter((k) => k.description === null || k.description.trim() === "")
      .map((k) => k.path);
    expect(undocumented).toEqual([]);
  });

  test("the walker finds an undescribed key behind any wrapper, in sections and list elements", () => {
    const schema = z.strictObject({
      a: z.strictObject({ plain: z.string(), wrapped: z.number().default(1).optional() }).optional(),
      list: z
        .array(z.strictObject({ inner: z.boolean().default(true) }))
        .default([])
        .describe("listed"),
      described: z.string().default("x").describe("has one"),
    });
    const undescribed = configKeys(schema)
      .filter((k) => k.description === null)
      .map((k) => k.path);
    expect(undescribed).toEqual(["a", "a.plain", "a.wrapped", "list[]", "list[].inner"]);
  });

  test("every key of the schema is in the generated reference", () => {
    const part = generatedPart(doc);
    const settings = configKeys().filter((k) => k.kind === "setting");
    expect(settings.length).toBeGreaterThan(40);
    const missing = settings.filter((k) => !part.includes(`| \`${k.path}\``)).map((k) => k.path);
    expect(missing).toEqual([]);
  });

  test("config.sample.yaml shows each key's default exactly as the schema defines it", () => {
    const sample: unknown = parse(readFileSync("config.sample.yaml", "utf8"));
    const differ: string[] = [];
    for (const key of configKeys()) {
      // Lists of objects (livekit.deployments) hold an example entry in the sample, not their default.
      if (key.kind !== "setting" || key.defaultValue === null || key.type.startsWith("list of objects"))
        continue;
      const shown = valueAt(sample, key.path);
      if (shown === undefined) continue;
      const parsed = key.schema.safeParse(shown);
      const byDefault = key.schema.safeParse(undefined);
      if (!parsed.success || !byDefault.success || !isDeepStrictEqual(parsed.data, byDefault.data))
        differ.push(`${key.path}: sample ${JSON.stringify(shown)}, default ${key.defaultValue}`);
    }
    expect(differ).toEqual([]);
  });

  test("the generator's output is already in prettier's format, so formatting never makes it stale", () => {
    const regenerated = spliceGenerated(doc, configReference());
    const formatted = execFileSync(
      process.execPath,
      ["node_modules/prettier/bin/prettier.cjs", "--stdin-filepath", DOC],
      { input: regenerated, encoding: "utf8" },
    );
    expect(generatedPart(formatted)).toBe(generatedPart(regenerated));
  });

  test("splicing keeps the hand-written text around the markers", () => {
    const before = "# Title\n\nintro\n\n";
    const after = "\n\n## After\n";
    const spliced = spliceGenerated(`${before}${BEGIN_MARKER}\nold\n${END_MARKER}${after}`, "new\n");
    expect(spliced.startsWith(`${before}${BEGIN_MARKER}\n`)).toBe(true);
    expect(spliced.endsWith(`${END_MARKER}${after}`)).toBe(true);
    expect(spliced).toContain("new\n");
    expect(spliced).not.toContain("old");
    expect(() => spliceGenerated("no markers", "x")).toThrow(/BEGIN GENERATED/);
  });
});
