// Real clients as child processes: the js-sdk MatrixRTC client and the rtc-node participant, with JSON-lines events, SIGTERM/SIGKILL.
import * as path from "node:path";
import type { ClientEvent, LiveKitParticipantOptions, MatrixRtcClientOptions } from "./client-options";
import { livekitJoinToken } from "./naming";
import { CLIENTS_DIR, freshDir, requireFile, tail } from "./paths";
import { spawnManaged, type ManagedProcess } from "./processes";

export interface ClientHandle {
  readonly pid: number;
  readonly logFile: string;
  events(): readonly ClientEvent[];
  /** The first event with this name (past or future); rejects on timeout, or when the client exits first. */
  waitFor(eventName: string, timeoutMs?: number): Promise<ClientEvent>;
  /** SIGTERM: a clean leave; resolves with the exit status once exited (SIGKILL after graceMs). */
  terminate(graceMs?: number): Promise<number | string>;
  /** SIGKILL: a crash; resolves once exited. */
  kill(): Promise<number | string>;
  readonly exited: Promise<number | string>;
}

function startJsonLinesClient(name: string, script: string, options: object): ClientHandle {
  const file = requireFile(
    path.join(CLIENTS_DIR, script),
    "build first: node node_modules/typescript/bin/tsc -p tsconfig.json",
  );
  const logFile = path.join(freshDir(name), `${name}.log`);
  const seen: ClientEvent[] = [];
  const waiters = new Set<() => void>();
  let proc: ManagedProcess | undefined = undefined;
  proc = spawnManaged({
    name,
    command: process.execPath,
    args: [file, JSON.stringify(options)],
    logFile,
    onStdoutLine: (line) => {
      if (!line.startsWith("{")) return;
      try {
        const parsed = JSON.parse(line) as Partial<ClientEvent>;
        // Libraries log JSON too (rtc-node's pino lines): only ours carry a string `event`.
        if (typeof parsed.event !== "string") return;
        seen.push(parsed as ClientEvent);
      } catch {
        return;
      }
      for (const wake of [...waiters]) wake();
    },
  });
  const managed = proc;
  void managed.exited.then(() => {
    for (const wake of [...waiters]) wake();
  });
  return {
    pid: managed.pid,
    logFile,
    events: () => seen,
    waitFor: (eventName, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const finish = (err?: Error, hit?: ClientEvent): void => {
          waiters.delete(check);
          clearTimeout(timer);
          if (hit !== undefined) resolve(hit);
          else reject(err ?? new Error("unreachable"));
        };
        const check = (): void => {
          const hit = seen.find((e) => e.event === eventName);
          if (hit !== undefined) {
            finish(undefined, hit);
            return;
          }
          const status = managed.exitStatus();
          if (status !== undefined) {
            finish(new Error(`${name} exited (${status}) before "${eventName}":\n${tail(logFile)}`));
          }
        };
        const timer = setTimeout(() => {
          finish(new Error(`${name}: no "${eventName}" within ${timeoutMs} ms:\n${tail(logFile)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    terminate: (graceMs = 15_000) => managed.stop(graceMs),
    kill: () => managed.kill(),
    exited: managed.exited,
  };
}

/**
 * Starts the real matrix-js-sdk 43 client: logs in, joins the room, joins the MatrixRTC session.
 * Events: `ready` (synced), `joined-room`, `joined-call` {memberId, rtcBackendIdentity, eventId, sticky},
 * `memberships` {count, own}, `own-membership-lost` / `own-membership-restored`, `left-call`, `error` {message}.
 */
export function startMatrixRtcClient(opts: MatrixRtcClientOptions): ClientHandle {
  return startJsonLinesClient("matrix-rtc-client", "matrix-rtc-client.mjs", opts);
}

/**
 * Starts a real @livekit/rtc-node participant in `room` as `identity`, with a token minted from key and secret.
 * Events: `connected` {sid, identity, room}, `disconnected` {reason}, `left`, `error` {message}.
 */
export async function startLiveKitParticipant(opts: {
  wsUrl: string;
  apiKey: string;
  apiSecret: string;
  room: string;
  identity: string;
  reconnect?: boolean;
}): Promise<ClientHandle> {
  const token = await livekitJoinToken(opts.apiKey, opts.apiSecret, opts.room, opts.identity);
  const options: LiveKitParticipantOptions = { wsUrl: opts.wsUrl, token, reconnect: opts.reconnect ?? false };
  return startJsonLinesClient("livekit-participant", "livekit-participant.mjs", options);
}
