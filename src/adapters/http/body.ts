// Reads a request body up to a route's own limit, refusing early: a declared length over the limit is refused
// before a byte is read, and reading stops at the first byte past it.
import type { IncomingMessage } from "node:http";

/** Why a body was refused, with the HTTP status to answer. */
export class BodyError extends Error {
  override name = "BodyError";
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the whole body of `req`, at most `limit` bytes. Only the identity content coding is accepted: a
 * compressed body could expand far past the limit, and neither the homeserver nor LiveKit compresses.
 * After a refusal the rest of the body is discarded as it arrives (Node drains an answered request), never kept.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const coding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
    if (coding !== "identity") {
      reject(new BodyError(415, `content encoding ${coding || "(empty)"} is not supported`));
      return;
    }
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > limit) {
      reject(new BodyError(413, `body of ${declared} bytes is over the limit of ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done();
        reject(new BodyError(413, `body over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      done();
      reject(new BodyError(400, `the body could not be read: ${err.message}`));
    };
    // A close before the end: the client went away mid-body.
    const onClose = (): void => {
      done();
      reject(new BodyError(400, "the request was aborted before its body was complete"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a body as JSON (UTF-8 only, as RFC 8259 requires); a BodyError(400) says what is wrong. */
export function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BodyError(400, "the body is not valid UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BodyError(400, `the body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
