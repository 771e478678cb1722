// A stand-in homeserver for integration tests: versions, whoami, the MSC2659 ping, joined_rooms and 200 to sends.
// End-to-end tests use a real Synapse; this exists so the listener and hostile input can be tested in seconds.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listenOnLoopback } from "./net";

export interface FakeHomeserverOptions {
  readonly asToken: string;
  readonly hsToken: string;
  readonly botUserId: string;
  readonly appserviceUrl: string;
  /** When set, whoami waits for this promise (holds start-up before the service opens anything). */
  readonly holdWhoami?: Promise<void>;
  /** When set, the ping waits for this promise (lets a test observe /ready while the listener is up). */
  readonly holdPing?: Promise<void>;
  /** Answer versions like Dendrite 0.13 (v1.0–v1.2, no unstable features) and offer no appservice ping. */
  readonly withoutPing?: boolean;
}

export interface FakeHomeserver {
  readonly url: string;
  /** Round trips of the pings that reached the service, ms. */
  readonly pings: number[];
  /** Every request the service made, as `METHOD path`. */
  readonly requests: string[];
  close(): Promise<void>;
}

const PING = /^\/_matrix\/client\/v1\/appservice\/[^/]+\/ping$/;
const SEND = /^\/_matrix\/client\/v3\/rooms\/[^/]+\/send\/[^/]+\/[^/]+$/;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startFakeHomeserver(opts: FakeHomeserverOptions): Promise<FakeHomeserver> {
  const pings: number[] = [];
  const requests: string[] = [];
  let sent = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push(`${req.method ?? "?"} ${url.pathname}`);
    const authorised = req.headers.authorization === `Bearer ${opts.asToken}`;
    if (url.pathname === "/_matrix/client/versions") {
      send(
        res,
        200,
        opts.withoutPing === true
          ? { versions: ["v1.0", "v1.1", "v1.2"] }
          : { versions: ["v1.11"], unstable_features: { "fi.mau.msc2659.stable": true } },
      );
    } else if (url.pathname === "/_matrix/client/v3/account/whoami") {
      await opts.holdWhoami;
      if (!authorised) send(res, 401, { errcode: "M_UNKNOWN_TOKEN", error: "Unknown token" });
      else send(res, 200, { user_id: url.searchParams.get("user_id") ?? opts.botUserId });
    } else if (!authorised) {
      send(res, 401, { errcode: "M_UNKNOWN_TOKEN", error: "Unknown token" });
    } else if (url.pathname === "/_matrix/client/v3/joined_rooms") {
      send(res, 200, { joined_rooms: [] });
    } else if (PING.test(url.pathname) && req.method === "POST" && opts.withoutPing !== true) {
      await opts.holdPing;
      const started = performance.now();
      const answer = await fetch(`${opts.appserviceUrl}/_matrix/app/v1/ping`, {
        method: "POST",
        headers: { Authorization: `Bearer ${opts.hsToken}`, "Content-Type": "application/json" },
        body: "{}",
      }).catch(() => null);
      if (answer === null)
        send(res, 502, { errcode: "M_CONNECTION_FAILED", error: "cannot reach appservice" });
      else if (!answer.ok) send(res, 502, { errcode: "M_BAD_STATUS", error: `status ${answer.status}` });
      else {
        const ms = Math.round(performance.now() - started);
        pings.push(ms);
        send(res, 200, { duration_ms: ms });
      }
    } else if (SEND.test(url.pathname) && req.method === "PUT") {
      req.resume();
      send(res, 200, { event_id: `$fake${++sent}` });
    } else {
      send(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    }
  };
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  const url = await listenOnLoopback(server);
  return { url, pings, requests, close: () => closeServer(server) };
}
