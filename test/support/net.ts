// Test helpers for loopback networking: a free port, and a small HTTP request helper.
import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export interface HttpResult {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
}

/** Sends a request and returns status and body text; never throws on HTTP errors. */
export async function http(
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpResult> {
  const res = await fetch(url, {
    method,
    headers: opts.headers ?? {},
    body: opts.body ?? null,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
