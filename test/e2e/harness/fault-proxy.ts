// A fault-injecting HTTP proxy for tests: sits between the service and Synapse or the LiveKit API and can pass,
// delay (the request or only its answer), answer 429 (with retry_after_ms) or 500, drop the connection, or hang, per request method and path.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | { readonly kind: "pass" }
  | { readonly kind: "delay"; readonly ms: number }
  /** Forward at once, hold the answer this long: the caller gets a snapshot older than the server's state. */
  | { readonly kind: "delay-answer"; readonly ms: number }
  | { readonly kind: "status429"; readonly retryAfterMs: number }
  | { readonly kind: "status500" }
  | { readonly kind: "drop" }
  | { readonly kind: "hang" }
  /** Forward the request, then cut the connection before the answer: the peer did the work, the caller never knows. */
  | { readonly kind: "forward-then-drop" };

export interface FaultRule {
  readonly method?: string;
  readonly path?: RegExp;
  /** Only requests whose body contains this text. */
  readonly bodyIncludes?: string;
  /** Apply to this many requests only, then let them pass. */
  times?: number;
  readonly fault: Fault;
}

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly at: number;
  readonly fault: Fault["kind"];
  status: number | null;
}

export interface FaultProxy {
  readonly url: string;
  /** Rules are tried in order; the first matching one applies, else requests pass. */
  setRules(rules: readonly FaultRule[]): void;
  requests(): readonly ProxiedRequest[];
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  let rules: readonly FaultRule[] = [];
  const seen: ProxiedRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  const targetUrl = new URL(target);

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    record: ProxiedRequest,
    cutAnswer = false,
    holdAnswerMs = 0,
  ) => {
    const upstream = http.request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: targetUrl.host },
      },
      (up) => {
        record.status = up.statusCode ?? 0;
        if (cutAnswer) {
          up.resume();
          req.socket.destroy();
          return;
        }
        const answer = () => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        };
        if (holdAnswerMs > 0) setTimeout(answer, holdAnswerMs);
        else answer();
      },
    );
    upstream.on("error", () => {
      record.status = 502;
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: "proxy: upstream failed" }));
    });
    upstream.end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const bodyText = Buffer.concat(chunks).toString("utf8");
      const rule = rules.find(
        (r) =>
          (r.method === undefined || r.method === req.method) &&
          (r.path === undefined || r.path.test(path)) &&
          (r.bodyIncludes === undefined || bodyText.includes(r.bodyIncludes)) &&
          (r.times === undefined || r.times > 0),
      );
      if (rule?.times !== undefined) rule.times--;
      const fault = rule?.fault ?? { kind: "pass" };
      const record: ProxiedRequest = {
        method: req.method ?? "GET",
        path,
        at: Date.now(),
        fault: fault.kind,
        status: null,
      };
      seen.push(record);
      const body = Buffer.concat(chunks);
      switch (fault.kind) {
        case "pass":
          forward(req, res, body, record);
          return;
        case "delay":
          setTimeout(() => {
            forward(req, res, body, record);
          }, fault.ms);
          return;
        case "delay-answer":
          forward(req, res, body, record, false, fault.ms);
          return;
        case "status429":
          record.status = 429;
          res.writeHead(429, { "Content-Type": "application/json" });
          res.end(
            JSON.stringify({
              errcode: "M_LIMIT_EXCEEDED",
              error: "proxy: too many requests",
              retry_after_ms: fault.retryAfterMs,
            }),
          );
          return;
        case "status500":
          record.status = 500;
          res.writeHead(500, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: "proxy: internal error" }));
          return;
        case "drop":
          record.status = 0;
          req.socket.destroy();
          return;
        case "forward-then-drop":
          forward(req, res, body, record, true);
          return;
        case "hang":
          hanging.add(res);
          res.on("close", () => hanging.delete(res));
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setRules(next) {
      rules = next;
      // Hanging requests end when the rules change, as a dead peer's connections eventually do.
      for (const res of hanging) res.socket?.destroy();
      hanging.clear();
    },
    requests: () => seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.socket?.destroy();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
