// A thin client-server API client over fetch: appservice token, masquerade (`user_id`), timeouts, 429 back-off.
import type { Logger } from "../../app/ports/logger";

/** A failed homeserver request, with what the server said. */
export class MatrixHttpError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly errcode: string | null,
    readonly serverMessage: string | null,
    readonly retryAfterMs: number | null,
  ) {
    super(
      `${method} ${path} → ${status}${errcode ? ` ${errcode}` : ""}${serverMessage ? `: ${serverMessage}` : ""}`,
    );
    this.name = "MatrixHttpError";
  }
}

/** The homeserver could not be reached at all (refused, reset, DNS, timeout). */
export class MatrixUnreachableError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    override readonly cause: unknown,
  ) {
    const reason = cause instanceof Error ? (errorCode(cause) ?? cause.message) : String(cause);
    super(`${method} ${path}: homeserver unreachable (${reason})`);
    this.name = "MatrixUnreachableError";
  }
}

function errorCode(err: Error): string | null {
  const cause = (err as { cause?: unknown }).cause;
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return cause.code;
  }
  return err.name === "TimeoutError" ? "timeout" : null;
}

export interface RequestOptions {
  readonly asUser?: string | undefined;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Retries after a 429, waiting what the server asks (default 3). */
  readonly maxRetries?: number;
  readonly timeoutMs?: number;
  /** Send without the appservice token (e.g. a public endpoint). */
  readonly anonymous?: boolean;
}

export interface MatrixHttpOptions {
  readonly baseUrl: string;
  readonly accessToken: string;
  readonly logger: Logger;
  readonly defaultTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Our clock (default Date.now): when answers arrive, to compare with the server's `Date` header. */
  readonly now?: () => number;
  /** Told every answer's `Date` header, to estimate the homeserver's clock. */
  readonly onServerDate?: ServerDateObserver;
}

/** Told the homeserver's `Date` header (whole seconds) and our time when that answer arrived. */
export type ServerDateObserver = (serverMs: number, receivedAt: number) => void;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Issues client-server API requests as the appservice (or a user it masquerades as). */
export class MatrixHttp {
  private readonly base: string;
  constructor(private readonly opts: MatrixHttpOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const maxRetries = options.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, path, options);
      } catch (err) {
        if (err instanceof MatrixHttpError && err.status === 429 && attempt < maxRetries) {
          const wait = Math.min(err.retryAfterMs ?? 1000 * 2 ** attempt, 60_000);
          this.opts.logger.warn("homeserver rate-limited a request; waiting as it asked", {
            method,
            path,
            wait_ms: wait,
            attempt: attempt + 1,
          });
          await (this.opts.sleep ?? defaultSleep)(wait);
          continue;
        }
        throw err;
      }
    }
  }

  private noteServerDate(header: string | null): void {
    const observe = this.opts.onServerDate;
    if (header === null || observe === undefined) return;
    const serverMs = Date.parse(header);
    if (Number.isFinite(serverMs)) observe(serverMs, (this.opts.now ?? Date.now)());
  }

  private async once<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    if (options.asUser !== undefined) url.searchParams.set("user_id", options.asUser);
    const headers: Record<string, string> = {};
    if (!options.anonymous) headers.Authorization = `Bearer ${this.opts.accessToken}`;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? this.opts.defaultTimeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new MatrixUnreachableError(method, path, err);
    }
    this.noteServerDate(response.headers.get("date"));
    const text = await response.text().catch(() => "");
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = null;
    }
    if (!response.ok) {
      const body = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : {};
      const retryHeader = Number(response.headers.get("retry-after"));
      const retryAfterMs =
        typeof body.retry_after_ms === "number"
          ? body.retry_after_ms
          : Number.isFinite(retryHeader) && retryHeader > 0
            ? retryHeader * 1000
            : null;
      throw new MatrixHttpError(
        method,
        path,
        response.status,
        typeof body.errcode === "string" ? body.errcode : null,
        typeof body.error === "string" ? body.error : text.slice(0, 200) || null,
        retryAfterMs,
      );
    }
    if (json === null) {
      throw new MatrixHttpError(method, path, response.status, null, "response is not JSON", null);
    }
    return json as T;
  }
}

/** Encodes one path segment (room ids, event types, state keys). */
export const seg = (value: string): string => encodeURIComponent(value);
