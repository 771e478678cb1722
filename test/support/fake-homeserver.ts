// A minimal stand-in homeserver for integration tests of start-up only: versions, whoami and the MSC2659 ping.
// End-to-end tests use a real Synapse; this exists so the listener can be tested in seconds without one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeHomeserverOptions {
  readonly asToken: string;
  readonly hsToken: string;
  readonly botUserId: string;
  readonly appserviceUrl: string;
  /** When set, whoami waits for this promise (lets a test observe /ready before start-up finishes). */
  readonly holdWhoami?: Promise<void>;
}

export interface FakeHomeserver {
  readonly url: string;
  readonly pings: number[];
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startFakeHomeserver(opts: FakeHomeserverOptions): Promise<FakeHomeserver> {
  const pings: number[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const authorised = req.headers.authorization === `Bearer ${opts.asToken}`;
    if (url.pathname === "/_matrix/client/versions") {
      send(res, 200, { versions: ["v1.11"], unstable_features: { "fi.mau.msc2659.stable": true } });
    } else if (url.pathname === "/_matrix/client/v3/joined_rooms" && authorised) {
      send(res, 200, { joined_rooms: [] });
    } else if (url.pathname === "/_matrix/client/v3/account/whoami") {
      await opts.holdWhoami;
      if (!authorised) send(res, 401, { errcode: "M_UNKNOWN_TOKEN", error: "Unknown token" });
      else send(res, 200, { user_id: url.searchParams.get("user_id") ?? opts.botUserId });
    } else if (
      /^\/_matrix\/client\/v1\/appservice\/[^/]+\/ping$/.test(url.pathname) &&
      req.method === "POST"
    ) {
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
    } else {
      send(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    }
  };
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pings,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
