// Test helpers for loopback networking: a free port, and a small HTTP request helper.

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
