// Reads a YAML config file, resolves `<key>_file` secrets, validates against the schema and lists every problem by path.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { configSchema, type Config } from "./schema";
import { suggestKey, unwrapSchema as unwrap } from "./suggest";
import { readYaml } from "./yaml";

/** A config that failed to load: every problem, each naming its path (e.g. `livekit.deployments.0.api_secret_file`). */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Replaces `<key>_file: path` by `<key>: <file contents>` wherever the schema has `<key>`, recording problems. */
function resolveSecretFiles(
  raw: unknown,
  schema: z.ZodType,
  path: string,
  baseDir: string,
  problems: string[],
  failed: Set<string>,
): unknown {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodArray && Array.isArray(raw)) {
    return raw.map((item, i) =>
      resolveSecretFiles(item, inner.element as z.ZodType, `${path}${i}.`, baseDir, problems, failed),
    );
  }
  if (!(inner instanceof z.ZodObject) || !isRecord(raw)) return raw;
  const shape = inner.shape as Record<string, z.ZodType>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const base = key.endsWith("_file") ? key.slice(0, -"_file".length) : null;
    const target = base === null ? undefined : shape[base];
    if (base !== null && target !== undefined && !(key in shape)) {
      if (base in raw) {
        problems.push(`${path}${key}: give either ${base} or ${key}, not both`);
        continue;
      }
      if (typeof value !== "string") {
        problems.push(`${path}${key}: expected a file path`);
        continue;
      }
      const file = isAbsolute(value) ? value : resolve(baseDir, value);
      try {
        out[base] = readFileSync(file, "utf8").replace(/\r?\n$/, "");
      } catch (err) {
        const code = isRecord(err) && typeof err.code === "string" ? err.code : String(err);
        problems.push(`${path}${key}: cannot read secret file ${file} (${code})`);
        failed.add(`${path}${base}`);
      }
      continue;
    }
    const child = shape[key];
    out[key] =
      child === undefined
        ? value
        : resolveSecretFiles(value, child, `${path}${key}.`, baseDir, problems, failed);
  }
  return out;
}

/** The value at `path` in the document as given (after secret files), or undefined when a step is missing. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const part of path) {
    if (Array.isArray(current) && typeof part === "number") current = current[part] as unknown;
    else if (isRecord(current) && typeof part === "string" && Object.hasOwn(current, part))
      current = current[part];
    else return undefined;
  }
  return current;
}

function describeIssue(issue: z.core.$ZodIssue, given: unknown): string[] {
  const at = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const hint = suggestKey(configSchema, issue.path, key);
      return `${at ? `${at}.` : ""}${key}: unknown key${hint === null ? "" : `; did you mean \`${hint}\`?`}`;
    });
  }
  if (issue.code === "invalid_type" && valueAt(given, issue.path) === undefined) {
    return [`${at || "(root)"}: required (expected ${issue.expected})`];
  }
  if (issue.code === "invalid_union") {
    if (valueAt(given, issue.path) === undefined) return [`${at || "(root)"}: required`];
    const nested = issue.errors.flat().map((e) => e.message);
    return [
      `${at || "(root)"}: ${issue.message}${nested.length ? ` (${[...new Set(nested)].join("; ")})` : ""}`,
    ];
  }
  return [`${at || "(root)"}: ${issue.message}`];
}

/** Validates an already-parsed document (e.g. from YAML); `baseDir` resolves relative secret files. */
export function validateConfig(raw: unknown, file: string, baseDir: string): Config {
  const problems: string[] = [];
  const failedSecrets = new Set<string>();
  const resolved = resolveSecretFiles(raw ?? {}, configSchema, "", baseDir, problems, failedSecrets);
  const result = configSchema.safeParse(resolved);
  if (!result.success) {
    // A secret whose file could not be read is reported once, by its `_file` key.
    const issues = result.error.issues.filter((i) => !failedSecrets.has(i.path.map(String).join(".")));
    problems.push(...issues.flatMap((issue) => describeIssue(issue, resolved)));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(file, problems);
  return result.data;
}

/** Loads and validates a YAML config file. Throws ConfigError listing every problem. */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = isRecord(err) && typeof err.code === "string" ? err.code : String(err);
    throw new ConfigError(file, [`cannot read the config file (${code})`]);
  }
  const yaml = readYaml(text);
  if (!yaml.ok) throw new ConfigError(file, yaml.problems);
  return validateConfig(yaml.value, file, dirname(resolve(file)));
}
