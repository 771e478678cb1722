// Test helpers for loopback networking: a free port, starting and stopping a server, a small HTTP request helper.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago (never handed out twice in one process). */
export { freePort } from "../e2e/harness/ports";

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

/** Starts `server` on 127.0.0.1 (on `port`, or any free one) and returns its base URL. */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops `server`, dropping kept-alive connections so it closes at once. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}
