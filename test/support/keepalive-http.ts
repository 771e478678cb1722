// Raw HTTP over keep-alive connections (node:http), for firing thousands of hostile requests quickly.
import { Agent, request } from "node:http";

export interface RawRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface RawResponse {
  readonly status: number;
  readonly text: string;
}

/** A pool of at most `sockets` keep-alive connections. */
export function keepAliveAgent(sockets = 4): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets });
}

/** Sends one request and reads the whole answer; rejects on a network error or after `timeoutMs`. */
export function send(agent: Agent, req: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const headers: Record<string, string> = { ...req.headers };
    if (body !== undefined) headers["Content-Length"] = String(body.length);
    const r = request(req.url, { method: req.method, agent, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    r.on("timeout", () => {
      r.destroy(new Error(`${req.method} ${req.url}: no answer within ${timeoutMs} ms`));
    });
    r.on("error", reject);
    r.end(body);
  });
}

/** Runs `task` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
