// purpose: generates the reference of every config key from the zod schema into docs/configuration.md.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { configSchema } from "../../src/config/schema";

export const BEGIN_MARKER = "<!-- BEGIN GENERATED -->";
export const END_MARKER = "<!-- END GENERATED -->";
const NOTE =
  "<!-- Generated from src/config/schema.ts by scripts/docs/config-reference.ts: edit the schema, not this part. -->";

/** One documented key: a leaf setting, a list, or a section (object) heading. */
export interface ConfigKey {
  /** Dotted path; list elements are written `name[]` (e.g. `livekit.deployments[].api_url`). */
  readonly path: string;
  readonly kind: "section" | "setting";
  readonly description: string | null;
  readonly type: string;
  /** The default as written in a config file, null when there is none. */
  readonly defaultValue: string | null;
  /** Must be given (no default, not optional). */
  readonly required: boolean;
  /** The field's schema as declared (wrappers included): parsing `undefined` with it yields the default. */
  readonly schema: z.ZodType;
}

/** The schema under default / prefault / optional / nullable wrappers, with the first description met on the way. */
function unwrap(schema: z.ZodType): {
  inner: z.ZodType;
  description: string | null;
  defaultValue: unknown;
  hasDefault: boolean;
  optional: boolean;
} {
  let inner = schema;
  let description: string | null = schema.description ?? null;
  let defaultValue: unknown = undefined;
  let hasDefault = false;
  let optional = false;
  for (;;) {
    if (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) {
      if (!hasDefault) {
        hasDefault = true;
        defaultValue = inner.def.defaultValue;
      }
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) {
      optional = true;
      inner = inner.unwrap() as z.ZodType;
    } else {
      break;
    }
    description ??= inner.description ?? null;
  }
  // A pipe (e.g. a duration: string | number → milliseconds) may carry the description on its input side.
  if (inner instanceof z.ZodPipe) description ??= (inner.in as z.ZodType).description ?? null;
  return { inner, description, defaultValue, hasDefault, optional };
}

interface CheckDef {
  readonly check?: string;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly minimum?: number;
}

function checksOf(schema: z.ZodType): CheckDef[] {
  const checks = (schema.def as { checks?: readonly { _zod: { def: unknown } }[] }).checks ?? [];
  return checks.map((c) => c._zod.def as CheckDef);
}

function isDuration(schema: z.ZodType): boolean {
  if (!(schema instanceof z.ZodPipe)) return false;
  const input = schema.in as z.ZodType;
  return (
    input instanceof z.ZodUnion &&
    input.safeParse("5s").success &&
    input.safeParse(5000).success &&
    schema.safeParse("5s").success &&
    !schema.safeParse("soon").success
  );
}

/** A string refined to node-cron syntax: refuses a word, accepts a five-field expression. */
function isCron(schema: z.ZodType): boolean {
  return (
    checksOf(schema).some((c) => c.check === "custom") &&
    !schema.safeParse("often").success &&
    schema.safeParse("* * * * *").success
  );
}

function numberType(schema: z.ZodNumber): string {
  const base = schema.format !== null && schema.format.includes("int") ? "integer" : "number";
  const min = schema.minValue !== null && schema.minValue > Number.MIN_SAFE_INTEGER ? schema.minValue : null;
  const max = schema.maxValue !== null && schema.maxValue < Number.MAX_SAFE_INTEGER ? schema.maxValue : null;
  if (min !== null && max !== null) return `${base}, ${min} to ${max}`;
  if (min !== null) return `${base} ≥ ${min}`;
  if (max !== null) return `${base} ≤ ${max}`;
  return base;
}

/** Strings, including string formats such as `z.url()` (which are not `ZodString` instances). */
function stringType(schema: z.ZodType): string {
  if ((schema.def as { format?: string }).format === "url") return "URL (http or https)";
  if (isCron(schema)) return "cron expression";
  const regex = checksOf(schema).find((c) => c.format === "regex" && c.pattern instanceof RegExp);
  if (regex?.pattern) return `string matching \`${regex.pattern.source}\``;
  return "string";
}

/** A short, human name of a (unwrapped) schema's type. */
function typeName(schema: z.ZodType, path: string): string {
  if (isDuration(schema)) return "duration";
  if (schema instanceof z.ZodBoolean) return "boolean";
  if (schema instanceof z.ZodNumber) return numberType(schema);
  if (schema.def.type === "string") return stringType(schema);
  if (schema instanceof z.ZodEnum) {
    return `one of ${schema.options.map((o) => `\`${String(o)}\``).join(", ")}`;
  }
  if (schema instanceof z.ZodArray) {
    const element = unwrap(schema.element as z.ZodType).inner;
    const min = checksOf(schema).find((c) => c.check === "min_length")?.minimum ?? 0;
    const of =
      element instanceof z.ZodObject ? `objects (see \`${path}[]\`)` : typeName(element, `${path}[]`);
    return `list of ${of}${min > 0 ? `, at least ${min}` : ""}`;
  }
  if (schema instanceof z.ZodRecord) {
    return `map of ${typeName(schema.keyType as z.ZodType, path)} to ${typeName(unwrap(schema.valueType as z.ZodType).inner, path)}`;
  }
  if (schema instanceof z.ZodObject) return "section";
  return schema.def.type;
}

/** A default as an operator would write it in YAML (strings bare, lists and maps inline). */
function formatDefault(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** Every key of the schema, depth first in schema order: each section, then its settings. */
export function configKeys(schema: z.ZodType = configSchema): ConfigKey[] {
  const keys: ConfigKey[] = [];
  const walkObject = (object: z.ZodObject, prefix: string) => {
    const shape = object.shape as Record<string, z.ZodType>;
    for (const [name, child] of Object.entries(shape)) visit(child, prefix ? `${prefix}.${name}` : name);
  };
  const visit = (field: z.ZodType, path: string) => {
    const { inner, description, defaultValue, hasDefault, optional } = unwrap(field);
    const required = !hasDefault && !optional;
    if (inner instanceof z.ZodObject) {
      keys.push({
        path,
        kind: "section",
        description,
        type: "section",
        defaultValue: null,
        required,
        schema: field,
      });
      walkObject(inner, path);
      return;
    }
    keys.push({
      path,
      kind: "setting",
      description,
      type: typeName(inner, path),
      defaultValue: hasDefault ? formatDefault(defaultValue) : null,
      required,
      schema: field,
    });
    if (inner instanceof z.ZodArray) {
      const element = unwrap(inner.element as z.ZodType);
      if (element.inner instanceof z.ZodObject) {
        keys.push({
          path: `${path}[]`,
          kind: "section",
          description: element.description,
          type: "section",
          defaultValue: null,
          required: false,
          schema: inner.element as z.ZodType,
        });
        walkObject(element.inner, `${path}[]`);
      }
    }
  };
  const root = unwrap(schema).inner;
  if (!(root instanceof z.ZodObject)) throw new Error("the config schema is not an object");
  walkObject(root, "");
  return keys;
}

/** Width of a table cell as prettier measures it (code points; the reference uses no wide characters). */
const width = (text: string): number => Array.from(text).length;

/** A markdown table laid out exactly as prettier prints it, so `prettier --write` leaves it unchanged. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cell = (text: string) => text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|").trim();
  const all = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => width(r[i] ?? ""))));
  const line = (r: readonly string[]) =>
    `| ${r.map((c, i) => c + " ".repeat((widths[i] ?? 3) - width(c))).join(" | ")} |`;
  const [head, ...body] = all;
  return [line(head ?? []), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...body.map(line)];
}

const MISSING = "**undocumented: add a `.describe()` to the schema**";

/** The generated reference: one heading per section, one table row per setting. Markdown, no markers. */
export function configReference(): string {
  const keys = configKeys();
  const out: string[] = [];
  const sections = keys.filter((k) => k.kind === "section");
  for (const section of sections) {
    const depth = section.path.split(".").length;
    const settings = keys.filter(
      (k) =>
        k.kind === "setting" &&
        k.path.startsWith(`${section.path}.`) &&
        k.path.split(".").length === depth + 1,
    );
    out.push(`### \`${section.path}\`${section.required ? " (required)" : ""}`, "");
    out.push(section.description ?? MISSING, "");
    if (settings.length === 0) continue;
    const rows = settings.map((k) => [
      `\`${k.path}\``,
      k.type,
      k.required ? "required" : k.defaultValue === null ? "(none)" : `\`${k.defaultValue}\``,
      k.description ?? MISSING,
    ]);
    out.push(...table(["Key", "Type", "Default", "Description"], rows), "");
  }
  return out.join("\n").trimEnd() + "\n";
}

/** Replaces what lies between the markers of `doc` with `generated`, keeping the hand-written text around it. */
export function spliceGenerated(doc: string, generated: string): string {
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin < 0 || end < 0 || end < begin) {
    throw new Error(`expected ${BEGIN_MARKER} followed by ${END_MARKER}`);
  }
  return `${doc.slice(0, begin)}${BEGIN_MARKER}\n${NOTE}\n\n${generated}\n${doc.slice(end)}`;
}

/** What lies between the markers (the generated part as it stands in the file). */
export function generatedPart(doc: string): string {
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin < 0 || end < 0 || end < begin) throw new Error(`no ${BEGIN_MARKER} … ${END_MARKER} block`);
  return doc.slice(begin, end + END_MARKER.length);
}

/** The repository root: the nearest folder holding this project's package.json, above this file or else the cwd. */
export function repoRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    let dir = resolve(start);
    for (;;) {
      const pkg = join(dir, "package.json");
      if (existsSync(pkg) && readFileSync(pkg, "utf8").includes('"name": "matrix-rtc-reconciler"'))
        return dir;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error("no matrix-rtc-reconciler package.json above this script or the working directory");
}

/** Writes the reference into docs/configuration.md; with `--check`, only reports whether it is up to date. */
function main(argv: readonly string[]): number {
  const file = join(repoRoot(), "docs", "configuration.md");
  const current = readFileSync(file, "utf8");
  const next = spliceGenerated(current, configReference());
  if (argv.includes("--check")) {
    if (next === current) return 0;
    console.error(
      `${file}: the generated reference is stale; run node dist/scripts/docs/config-reference.js`,
    );
    return 1;
  }
  if (next !== current) writeFileSync(file, next);
  console.log(`${file}: ${next === current ? "already up to date" : "reference regenerated"}`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
