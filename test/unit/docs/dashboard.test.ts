// purpose: the Grafana dashboard and the sample alert rules are valid and query only metrics the service exports.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { PrometheusMetrics } from "../../../src/adapters/metrics/prometheus";

interface Exported {
  /** Every exported metric name (histograms by their base name). */
  readonly names: ReadonlySet<string>;
  readonly histograms: ReadonlySet<string>;
  /** Names from prom-client's default process and Node.js collectors (`…_process_…`, `…_nodejs_…`). */
  readonly processNames: ReadonlySet<string>;
}

/** Reads the names from a fresh registry, exactly as `/metrics` would serve them. */
async function exportedMetrics(): Promise<Exported> {
  const list = await new PrometheusMetrics().registry.getMetricsAsJSON();
  const names = new Set(list.map((m) => m.name));
  const histograms = new Set(list.filter((m) => String(m.type) === "histogram").map((m) => m.name));
  const processNames = new Set(
    [...names].filter(
      (n) => n.startsWith("rtc_reconciler_process_") || n.startsWith("rtc_reconciler_nodejs_"),
    ),
  );
  return { names, histograms, processNames };
}

/**
 * Metric names referenced in a text (PromQL, markdown), sorted and unique. Histogram series suffixes
 * (`_bucket`, `_sum`, `_count`) map to the histogram's base name. Digits are allowed (`…_lag_p99_seconds`).
 */
function referencedMetrics(text: string, exported: Exported): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/rtc_reconciler_[a-z0-9_]+/g)) {
    let name = match[0].replace(/_+$/, "");
    const base = name.replace(/_(bucket|sum|count)$/, "");
    if (!exported.names.has(name) && base !== name && exported.histograms.has(base)) name = base;
    found.add(name);
  }
  return [...found].sort();
}

const DASHBOARD = "contrib/grafana/matrix-rtc-reconciler.json";
const ALERTS = "contrib/prometheus/alerts.yml";
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

interface Target {
  readonly refId?: unknown;
  readonly expr?: unknown;
  readonly datasource?: unknown;
}
interface Panel {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly title?: unknown;
  readonly datasource?: unknown;
  readonly gridPos?: { x?: unknown; y?: unknown; w?: unknown; h?: unknown };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}
interface Variable {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly query?: unknown;
  readonly definition?: unknown;
}
interface Dashboard {
  readonly title?: unknown;
  readonly uid?: unknown;
  readonly schemaVersion?: unknown;
  readonly panels?: readonly Panel[];
  readonly templating?: { list?: readonly Variable[] };
}
interface Rule {
  readonly alert?: unknown;
  readonly expr?: unknown;
  readonly for?: unknown;
  readonly labels?: Record<string, unknown>;
  readonly annotations?: Record<string, unknown>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
const rules = (
  (parse(readFileSync(ALERTS, "utf8")) as { groups?: { rules?: Rule[] }[] }).groups ?? []
).flatMap((g) => g.rules ?? []);

/** Every panel, those nested in collapsed rows included. */
function allPanels(panels: readonly Panel[] = dashboard.panels ?? []): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}
const queryPanels = allPanels().filter((p) => p.type !== "row");
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
const variableQueries = (dashboard.templating?.list ?? [])
  .filter((v) => v.type === "query")
  .map((v) => JSON.stringify([v.query, v.definition]));

/** Parentheses, brackets and braces balance outside string literals: a cheap PromQL sanity check. */
function balanced(expr: string): boolean {
  const closing: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const stack: string[] = [];
  let quote: string | null = null;
  for (const ch of expr) {
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'" || ch === "`") quote = ch;
    else if ("([{".includes(ch)) stack.push(ch);
    else if (ch in closing && stack.pop() !== closing[ch]) return false;
  }
  return stack.length === 0 && quote === null;
}

let exported: Exported;
beforeAll(async () => {
  exported = await exportedMetrics();
});

describe("Grafana dashboard", () => {
  test("is a dashboard: title, uid, schema version, panels with unique ids laid out on the 24-column grid", () => {
    expect(typeof dashboard.title).toBe("string");
    expect(typeof dashboard.uid).toBe("string");
    expect(typeof dashboard.schemaVersion).toBe("number");
    const panels = allPanels();
    expect(queryPanels.length).toBeGreaterThan(10);
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => typeof id === "number")).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos ?? {};
      const ok =
        typeof x === "number" &&
        typeof y === "number" &&
        typeof w === "number" &&
        typeof h === "number" &&
        x >= 0 &&
        w > 0 &&
        h > 0 &&
        x + w <= 24;
      expect({ panel: p.title, gridPos: p.gridPos, ok }).toEqual({
        panel: p.title,
        gridPos: p.gridPos,
        ok: true,
      });
    }
  });

  test("asks for a Prometheus data source, and every panel and query uses that variable", () => {
    const variables = dashboard.templating?.list ?? [];
    expect(variables).toContainEqual(
      expect.objectContaining({ name: "datasource", type: "datasource", query: "prometheus" }),
    );
    for (const p of queryPanels) {
      expect({ panel: p.title, datasource: p.datasource }).toEqual({
        panel: p.title,
        datasource: DATASOURCE,
      });
      expect((p.targets ?? []).length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource).toEqual(DATASOURCE);
    }
  });

  test("every query is a non-empty expression with balanced brackets", () => {
    expect(exprs.length).toBeGreaterThan(20);
    for (const expr of exprs) {
      expect(typeof expr).toBe("string");
      expect({ expr, balanced: balanced(String(expr)) }).toEqual({ expr, balanced: true });
    }
  });

  test("every metric it queries is one the service exports", () => {
    const queried = referencedMetrics([...exprs.map(String), ...variableQueries].join("\n"), exported);
    expect(queried.length).toBeGreaterThan(10);
    expect(queried.filter((name) => !exported.names.has(name))).toEqual([]);
  });

  test("every metric of the service itself (process metrics aside) has a panel", () => {
    const queried = new Set(referencedMetrics(exprs.map(String).join("\n"), exported));
    const missing = [...exported.names].filter((n) => !exported.processNames.has(n) && !queried.has(n));
    expect(missing).toEqual([]);
  });
});

describe("Prometheus alert rules", () => {
  test("parse as rule groups; each rule has a unique name, an expression, a severity and a summary", () => {
    expect(rules.length).toBeGreaterThanOrEqual(5);
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(typeof r.alert).toBe("string");
      expect(typeof r.expr).toBe("string");
      expect({ alert: r.alert, balanced: balanced(String(r.expr)) }).toEqual({
        alert: r.alert,
        balanced: true,
      });
      expect(["warning", "critical"]).toContain(r.labels?.severity);
      expect(typeof r.annotations?.summary).toBe("string");
      if (r.for !== undefined) expect(typeof r.for === "string" && /^\d+[smhd]$/.test(r.for)).toBe(true);
    }
  });

  test("every metric they query is one the service exports", () => {
    const queried = referencedMetrics(rules.map((r) => String(r.expr)).join("\n"), exported);
    expect(queried.length).toBeGreaterThan(4);
    expect(queried.filter((name) => !exported.names.has(name))).toEqual([]);
  });

  test("cover the service being down, false positives, clear failures, LiveKit API errors and missing webhooks", () => {
    const text = rules.map((r) => String(r.expr)).join("\n");
    expect(text).toMatch(/\bup\{job=/);
    for (const name of [
      "rtc_reconciler_false_positives_total",
      "rtc_reconciler_clear_failures_total",
      "rtc_reconciler_livekit_api_errors_total",
      "rtc_reconciler_webhooks_total",
    ])
      expect(text).toContain(name);
  });
});

describe("the name extraction itself", () => {
  test("maps histogram series to their base name and keeps unknown names visible", () => {
    expect(
      referencedMetrics(
        "histogram_quantile(0.9, rate(rtc_reconciler_ghost_lifetime_seconds_bucket[5m])) + rtc_reconciler_nodejs_eventloop_lag_p99_seconds + rtc_reconciler_made_up_total",
        exported,
      ),
    ).toEqual([
      "rtc_reconciler_ghost_lifetime_seconds",
      "rtc_reconciler_made_up_total",
      "rtc_reconciler_nodejs_eventloop_lag_p99_seconds",
    ]);
  });
});
