// purpose: docs/operations.md describes every exported metric, every command and the log messages the code emits.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PrometheusMetrics } from "../../../src/adapters/metrics/prometheus";
import { commandTable, type TableDeps } from "../../../src/app/commands/table";

const OPS = readFileSync("docs/operations.md", "utf8");
const DOCS = readdirSync("docs")
  .filter((f) => f.endsWith(".md"))
  .map((f) => ({ file: `docs/${f}`, text: readFileSync(join("docs", f), "utf8") }));

/** The markdown between a `## heading` and the next `## ` heading. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = doc.indexOf("\n## ", start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The first cell of each body row of the markdown tables in `text`, when it is one code span. */
function firstCodeCells(text: string): string[] {
  return text
    .split("\n")
    .map((line) => /^\|\s*`([^`]+)`\s*\|/.exec(line)?.[1])
    .filter((cell): cell is string => cell !== undefined);
}

async function exportedNames(): Promise<{ names: Set<string>; histograms: Set<string> }> {
  const list = await new PrometheusMetrics().registry.getMetricsAsJSON();
  return {
    names: new Set(list.map((m) => m.name)),
    histograms: new Set(list.filter((m) => String(m.type) === "histogram").map((m) => m.name)),
  };
}

interface LogCall {
  readonly file: string;
  readonly level: "error" | "warn" | "info" | "debug";
  /** The literal message; `${…}` parts of a template literal become `(.+)` in `pattern`. */
  readonly message: string;
  readonly pattern: RegExp;
}

/** Every logger call in src/ whose message is a string or template literal. */
function logCalls(): LogCall[] {
  const calls: LogCall[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith(".ts")) {
        const text = readFileSync(path, "utf8");
        const re = /\b(?:logger|log)\.(error|warn|info|debug)\(\s*(["`])((?:\\.|(?!\2)[^\\])*)\2/g;
        for (const m of text.matchAll(re)) {
          const level = m[1] as LogCall["level"];
          const message = m[3] ?? "";
          const parts = message.split(/\$\{[^}]*\}/);
          const pattern = new RegExp(
            `^${parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("(.+)")}$`,
          );
          calls.push({ file: path, level, message, pattern });
        }
      }
    }
  };
  walk("src");
  return calls;
}

describe("docs/operations.md", () => {
  test("describes every metric the service exports", async () => {
    const { names } = await exportedNames();
    expect(names.size).toBeGreaterThan(20);
    const undocumented = [...names].filter((name) => !OPS.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  test("no page under docs/ names a metric the service does not export", async () => {
    const { names, histograms } = await exportedNames();
    const unknown: string[] = [];
    for (const { file, text } of DOCS) {
      for (const match of text.matchAll(/rtc_reconciler_[a-z0-9_]+/g)) {
        const name = match[0].replace(/_+$/, "");
        const base = name.replace(/_(bucket|sum|count)$/, "");
        if (name === "rtc_reconciler_" || names.has(name) || histograms.has(base)) continue;
        unknown.push(`${file}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  test("lists every command of the command table with its usage and who may run it", () => {
    const table = commandTable({ prefix: "!rtc" } as unknown as TableDeps);
    const rows = section(OPS, "Commands")
      .split("\n")
      .filter((l) => l.startsWith("| `!rtc"));
    const who = { anyone: /^anyone/, moderator: /^moderators/, admin: /^admins/ } as const;
    expect(rows).toHaveLength(table.length);
    for (const c of table) {
      const row = rows.find((r) => r.startsWith(`| \`!rtc ${c.usage}\``));
      const cells = row?.split("|").map((s) => s.trim());
      expect({ command: c.usage, documented: row !== undefined }).toEqual({
        command: c.usage,
        documented: true,
      });
      expect({ command: c.usage, who: who[c.permission].test(cells?.[2] ?? "") }).toEqual({
        command: c.usage,
        who: true,
      });
    }
  });

  describe("log messages", () => {
    const calls = logCalls();
    const documented = firstCodeCells(section(OPS, "Reading the logs"));

    test("the logger calls in src/ were found", () => {
      expect(calls.length).toBeGreaterThan(30);
      expect(calls.map((c) => c.message)).toEqual(
        expect.arrayContaining(["verdict: ghost", "clear: ${outcome.result}", "webhook refused"]),
      );
    });

    test("every message the logs section names is one the code emits", () => {
      expect(documented.length).toBeGreaterThan(30);
      const invented = documented.filter((m) => !calls.some((c) => c.pattern.test(m)));
      expect(invented).toEqual([]);
    });

    test("every info, warn and error message the code emits is in the logs section", () => {
      const missing = calls
        .filter((c) => c.level !== "debug")
        .filter((c) => !documented.some((m) => c.pattern.test(m)))
        .map((c) => `${c.file}: ${c.level} "${c.message}"`);
      expect(missing).toEqual([]);
    });

    test("each outcome of a clear has its own row", () => {
      for (const result of ["cleared", "would_clear", "skipped", "cannot_clear", "failed"])
        expect(documented).toContain(`clear: ${result}`);
    });
  });
});
