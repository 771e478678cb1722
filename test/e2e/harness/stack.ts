// One test file's stack: Synapse (a profile), LiveKit behind the webhook relay, and matrix-rtc-reconciler wired to both.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import {
  DEFAULT_LIVEKIT_SERVICE_URL,
  startSynapse,
  type SynapseHandle,
  type SynapseProfile,
} from "./synapse";
import { startLiveKit, type LiveKitHandle } from "./livekit";
import { startWebhookRelay, type WebhookRelay } from "./relay";
import {
  generateReconcilerRegistration,
  startReconciler,
  type ReconcilerHandle,
  type ReconcilerRegistration,
} from "./reconciler";
import { startFaultProxy, type FaultProxy } from "./fault-proxy";
import { freshDir, LIBFAKETIME, requireFile } from "./paths";
import { freePort } from "./ports";
import { killAllLeftovers } from "./processes";

export interface StackOptions {
  readonly profile: SynapseProfile;
  /** Narrows the registration's non-exclusive user namespace (e.g. to leave some users out). */
  readonly userRegex?: string;
  /** Changes to the default e2e config, merged section by section. */
  readonly config?: Record<string, Record<string, unknown>>;
  /** Route the service's homeserver and LiveKit API traffic through fault proxies. */
  readonly faults?: boolean;
  /** Run the service with its clock shifted by this much (libfaketime), e.g. "+30s" or "-30s". */
  readonly clockOffset?: string;
}

export interface Stack {
  readonly synapse: SynapseHandle;
  readonly livekit: LiveKitHandle;
  readonly relay: WebhookRelay;
  readonly registration: ReconcilerRegistration;
  reconciler: ReconcilerHandle;
  /** The livekit_service_url memberships name; the reconciler maps it to this LiveKit. */
  readonly serviceUrl: string;
  /** Between the service and Synapse / the LiveKit API, and Synapse → service, when started with `faults`. */
  readonly homeserverProxy: FaultProxy | null;
  readonly appserviceProxy: FaultProxy | null;
  readonly livekitApiProxy: FaultProxy | null;
  /**
   * Stops the reconciler and starts it again on the same database (optionally with other config, and with its
   * clock shifted by a libfaketime offset such as "+30s"; null for the real clock).
   */
  restartReconciler(
    config?: Record<string, Record<string, unknown>>,
    how?: "stop" | "kill",
    clockOffset?: string | null,
  ): Promise<ReconcilerHandle>;
  stop(): Promise<void>;
}

function merge(
  base: Record<string, Record<string, unknown>>,
  extra: Record<string, Record<string, unknown>> = {},
): Record<string, Record<string, unknown>> {
  const out = { ...base };
  for (const [section, values] of Object.entries(extra))
    out[section] = { ...(base[section] ?? {}), ...values };
  return out;
}

/** Rewrites the registration's `url` (where Synapse sends transactions). */
function pointRegistrationAt(file: string, url: string): void {
  const reg = parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  fs.writeFileSync(file, stringify({ ...reg, url }));
}

type ClockEnv = Record<string, string>;

/** The service's environment for a libfaketime clock offset (none for the real clock). */
function clockEnv(offset: string | undefined | null): ClockEnv {
  return offset === undefined || offset === null
    ? {}
    : { LD_PRELOAD: requireFile(LIBFAKETIME, "run scripts/provision-e2e.sh"), FAKETIME: offset };
}

/** The default e2e config: the service talks to Synapse and the LiveKit API (through proxies when given). */
function baseConfig(
  registration: ReconcilerRegistration,
  homeserverUrl: string,
  livekit: LiveKitHandle,
  livekitApiUrl: string,
  dir: string,
  metricsPort: number,
): Record<string, Record<string, unknown>> {
  return {
    homeserver: { url: homeserverUrl, domain: "localhost", startup_timeout: "30s" },
    appservice: { bind_address: "127.0.0.1", port: registration.port },
    database: { path: path.join(dir, "reconciler.db") },
    livekit: {
      deployments: [
        {
          name: "local",
          service_urls: [DEFAULT_LIVEKIT_SERVICE_URL],
          api_url: livekitApiUrl,
          api_key: livekit.apiKey,
          api_secret: livekit.apiSecret,
        },
      ],
    },
    reconciliation: { dry_run: false },
    logging: { level: "debug" },
    metrics: { port: metricsPort },
    schedules: { sweep: "*/2 * * * * *", poll: "*/3 * * * * *" },
  };
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  // The in-process servers started so far (relay, proxies): closed by `stop`, and also when a later step of the
  // start fails, so that a failed start neither leaves a server running nor keeps the test run from ending.
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled(closers.map((close) => close()));
  };
  const started = <T extends { close(): Promise<unknown> }>(server: T): T => {
    closers.push(() => server.close());
    return server;
  };
  try {
    const registration = await generateReconcilerRegistration(
      opts.userRegex === undefined ? {} : { userRegex: opts.userRegex },
    );
    const relay = started(await startWebhookRelay());
    // Synapse reaches the service through a proxy too, so transactions can be cut or delayed.
    const appserviceProxy = opts.faults ? started(await startFaultProxy(registration.url)) : null;
    if (appserviceProxy) pointRegistrationAt(registration.file, appserviceProxy.url);
    // Both are waited for even when one fails, so that the other is running (and killed) before the clean-up.
    const [synapseStart, livekitStart] = await Promise.allSettled([
      startSynapse({
        profile: opts.profile,
        registrationFiles: [registration.file],
        livekitServiceUrl: DEFAULT_LIVEKIT_SERVICE_URL,
      }),
      startLiveKit({ webhookUrls: [relay.url] }),
    ]);
    if (synapseStart.status === "rejected") throw synapseStart.reason;
    if (livekitStart.status === "rejected") throw livekitStart.reason;
    const synapse = synapseStart.value;
    const livekit = livekitStart.value;
    const dir = freshDir("reconciler");
    const metricsPort = await freePort();
    const homeserverProxy = opts.faults ? started(await startFaultProxy(synapse.baseUrl)) : null;
    const livekitApiProxy = opts.faults ? started(await startFaultProxy(livekit.httpUrl)) : null;
    let env = clockEnv(opts.clockOffset);
    let config = merge(
      baseConfig(
        registration,
        homeserverProxy?.url ?? synapse.baseUrl,
        livekit,
        livekitApiProxy?.url ?? livekit.httpUrl,
        dir,
        metricsPort,
      ),
      opts.config,
    );
    const start = () => startReconciler({ registration, homeserverUrl: synapse.baseUrl, config, dir, env });
    const reconciler = await start();
    relay.setTarget(reconciler.webhookUrl);
    const stack: Stack = {
      synapse,
      livekit,
      relay,
      registration,
      reconciler,
      serviceUrl: DEFAULT_LIVEKIT_SERVICE_URL,
      homeserverProxy,
      appserviceProxy,
      livekitApiProxy,
      async restartReconciler(extra, how = "stop", clockOffset) {
        if (how === "kill") await stack.reconciler.kill();
        else await stack.reconciler.stop();
        config = merge(config, extra);
        if (clockOffset !== undefined) env = clockEnv(clockOffset);
        stack.reconciler = await start();
        return stack.reconciler;
      },
      async stop() {
        await stack.reconciler.stop();
        await Promise.allSettled([synapse.stop(), livekit.stop()]);
        await closeAll();
        killAllLeftovers();
      },
    };
    return stack;
  } catch (err) {
    killAllLeftovers();
    await closeAll();
    throw err;
  }
}
