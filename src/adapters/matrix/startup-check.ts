// Start-up check: is the homeserver reachable, does it know our as_token (before we open anything), can it reach us (MSC2659 ping)?
import type { Logger } from "../../app/ports/logger";
import { MatrixHttp, MatrixHttpError, MatrixUnreachableError, seg } from "./http";

/** What the homeserver told us before the service opened any file or port. */
export interface HomeserverBasics {
  readonly versions: readonly string[];
  readonly unstableFeatures: Readonly<Record<string, boolean>>;
  /** Whether it offers the appservice ping (MSC2659; spec v1.7): without it, nothing proves it reaches us. */
  readonly supportsPing: boolean;
}

export interface HomeserverFacts extends HomeserverBasics {
  /** Round trip homeserver → appservice measured by the ping, when the server supports it. */
  readonly pingMs: number | null;
}

/**
 * Where each homeserver family loads appservice registrations: named in every message about a registration the
 * homeserver does not seem to have loaded.
 */
export const REGISTRATION_PLACES =
  "Synapse: app_service_config_files in homeserver.yaml; Dendrite: app_service_api.config_files in dendrite.yaml; " +
  "Conduit: the admin room's register-appservice command; conduwuit, continuwuity, tuwunel: !admin appservices register";

export interface StartupCheckOptions {
  readonly http: MatrixHttp;
  readonly homeserverUrl: string;
  readonly registrationId: string;
  readonly botUserId: string;
  readonly appserviceUrl: string | null;
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** A start-up problem an operator must fix; the message says what and where. */
export class StartupError extends Error {
  override name = "StartupError";
}

interface VersionsResponse {
  versions?: unknown;
  unstable_features?: unknown;
}

/**
 * Runs `attempt` until it succeeds. Before the start-up deadline, a failure is offered to `retry` (which logs
 * and answers whether another try is worth it) and tried again after a growing pause (1 s, 2 s, … 5 s); any
 * other failure, or one past the deadline, is thrown as is.
 */
async function untilDeadline<T>(
  opts: StartupCheckOptions,
  retry: (err: unknown, attempt: Attempt) => boolean,
  attempt: () => Promise<T>,
): Promise<T> {
  const deadline = opts.now() + opts.timeoutMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const now = opts.now();
      const pause = Math.min(1000 * n, 5000);
      if (now >= deadline) throw err;
      const left = deadline - now;
      if (!retry(err, { attempt: n, next_try_in_s: pause / 1000, gives_up_in_s: Math.ceil(left / 1000) }))
        throw err;
      await opts.sleep(pause);
    }
  }
}

/** Logged with every retry: which try failed, when the next one is, and how long start-up keeps trying. */
interface Attempt {
  readonly attempt: number;
  readonly next_try_in_s: number;
  readonly gives_up_in_s: number;
}

const isNotFound = (err: unknown): boolean => err instanceof MatrixHttpError && err.status === 404;

async function fetchVersions(opts: StartupCheckOptions): Promise<VersionsResponse> {
  try {
    return await untilDeadline(
      opts,
      (err, attempt) => {
        if (isNotFound(err)) return false;
        opts.logger.warn("homeserver not reachable yet; retrying", {
          ...attempt,
          url: opts.homeserverUrl,
          error: err instanceof Error ? err.message : String(err),
        });
        return true;
      },
      () =>
        opts.http.request<VersionsResponse>("GET", "/_matrix/client/versions", {
          anonymous: true,
          timeoutMs: 10_000,
        }),
    );
  } catch (err) {
    if (isNotFound(err)) {
      throw new StartupError(
        `${opts.homeserverUrl} does not look like a Matrix homeserver (GET /_matrix/client/versions → 404): check homeserver.url`,
      );
    }
    const why = err instanceof Error ? err.message : String(err);
    throw new StartupError(
      `cannot reach the homeserver at ${opts.homeserverUrl} (tried for ${Math.round(opts.timeoutMs / 1000)} s, ` +
        `homeserver.startup_timeout): ${why}; check homeserver.url and that the homeserver is running`,
    );
  }
}

async function checkToken(opts: StartupCheckOptions): Promise<void> {
  try {
    const who = await opts.http.request<{ user_id?: unknown }>("GET", "/_matrix/client/v3/account/whoami", {
      asUser: opts.botUserId,
    });
    if (who.user_id !== opts.botUserId) {
      throw new StartupError(
        `the homeserver says our token belongs to ${String(who.user_id)}, not ${opts.botUserId}`,
      );
    }
  } catch (err) {
    if (err instanceof MatrixHttpError && (err.status === 401 || err.status === 403)) {
      throw new StartupError(
        `the homeserver rejects this appservice's as_token (${err.errcode ?? err.status}): has it loaded this very ` +
          `registration file, with the same tokens, and was it restarted since? (${REGISTRATION_PLACES})`,
      );
    }
    throw err;
  }
}

const isConnectionFailure = (err: unknown): boolean =>
  err instanceof MatrixHttpError &&
  (err.errcode === "M_CONNECTION_FAILED" || err.errcode === "M_CONNECTION_TIMEOUT");

/**
 * Asks the homeserver to ping us. A connection failure is retried until the start-up deadline: besides a wrong
 * url it can be transient (we are listening already; Synapse 1.163 answers M_CONNECTION_FAILED when the ping
 * races its own retry of our pending transactions).
 */
async function ping(opts: StartupCheckOptions): Promise<number> {
  try {
    const res = await untilDeadline(
      opts,
      (err, attempt) => {
        if (!(err instanceof MatrixHttpError) || !isConnectionFailure(err)) return false;
        opts.logger.warn("homeserver could not ping this service yet; retrying", {
          ...attempt,
          errcode: err.errcode,
          error: err.serverMessage ?? null,
        });
        return true;
      },
      () =>
        opts.http.request<{ duration_ms?: unknown }>(
          "POST",
          `/_matrix/client/v1/appservice/${seg(opts.registrationId)}/ping`,
          { body: { transaction_id: `startup-${opts.now()}` }, timeoutMs: 30_000 },
        ),
    );
    return typeof res.duration_ms === "number" ? res.duration_ms : -1;
  } catch (err) {
    if (err instanceof MatrixHttpError) {
      if (err.errcode === "M_URL_NOT_SET") {
        throw new StartupError("the registration has no url: the homeserver cannot send us events");
      }
      if (isConnectionFailure(err)) {
        throw new StartupError(
          `the homeserver cannot reach this service at ${opts.appserviceUrl ?? "(no url)"} (${err.errcode}): ` +
            "check the registration's url and appservice.bind_address/port",
        );
      }
      if (err.errcode === "M_BAD_STATUS") {
        throw new StartupError(
          `the homeserver reached this service but was refused (${err.serverMessage ?? "bad status"}): ` +
            `the registration's hs_token probably differs from the one the homeserver loaded (${REGISTRATION_PLACES})`,
        );
      }
    }
    throw err;
  }
}

/**
 * The checks that need nothing of ours running: the homeserver answers and knows our as_token. Run before the
 * service creates any file or opens any port. Throws StartupError with a clear cause.
 */
export async function checkHomeserverBasics(opts: StartupCheckOptions): Promise<HomeserverBasics> {
  const versions = await fetchVersions(opts);
  const list = Array.isArray(versions.versions) ? versions.versions.filter((v) => typeof v === "string") : [];
  const features: Record<string, boolean> = {};
  if (typeof versions.unstable_features === "object" && versions.unstable_features !== null) {
    for (const [k, v] of Object.entries(versions.unstable_features))
      if (typeof v === "boolean") features[k] = v;
  }
  try {
    await checkToken(opts);
  } catch (err) {
    if (err instanceof MatrixUnreachableError) throw new StartupError(err.message);
    throw err;
  }
  const supportsPing =
    features["fi.mau.msc2659.stable"] === true ||
    list.some((v) => /^v1\.(\d+)$/.test(v) && Number(v.slice(3)) >= 7);
  return { versions: list, unstableFeatures: features, supportsPing };
}

/** Once the listener is up: asks the homeserver to ping us, when it can. Null when it has no ping. */
export async function checkHomeserverReachesUs(
  opts: StartupCheckOptions,
  basics: HomeserverBasics,
): Promise<HomeserverFacts> {
  const pingMs = basics.supportsPing ? await ping(opts) : null;
  return { ...basics, pingMs };
}

/** Runs every check in order and returns what the homeserver told us. Throws StartupError with a clear cause. */
export async function checkHomeserver(opts: StartupCheckOptions): Promise<HomeserverFacts> {
  return checkHomeserverReachesUs(opts, await checkHomeserverBasics(opts));
}
