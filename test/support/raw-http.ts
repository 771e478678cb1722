// Sends only the head of an HTTP request, never its body, and reports whether the server answered anyway: a route
// that refuses before reading answers at once, one that reads first waits for bytes that never come.
import { connect } from "node:net";

export interface HeadOnly {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The Content-Length declared; none of those bytes is sent. */
  readonly contentLength: number;
}

/** The status the server answered within `waitMs` of receiving the head, or null if it did not answer. */
export function statusBeforeBody(req: HeadOnly, waitMs = 2_000): Promise<number | null> {
  const url = new URL(req.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let received = "";
    const finish = (status: number | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => {
      finish(null);
    }, waitMs);
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const line = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      if (line) finish(Number(line[1]));
    });
    socket.on("connect", () => {
      const head = [
        `${req.method} ${url.pathname}${url.search} HTTP/1.1`,
        `Host: ${url.host}`,
        `Content-Length: ${req.contentLength}`,
        ...Object.entries(req.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
        "",
        "",
      ].join("\r\n");
      socket.write(head);
    });
  });
}
