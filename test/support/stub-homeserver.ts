// A stand-in homeserver for hostile-input tests: start-up checks, the MSC2659 ping, and 200 to the bot's sends.
// Like fake-homeserver.ts, but it also accepts the bot's replies so command-like junk does not fail on a 404.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubHomeserverOptions {
  readonly asToken: string;
  readonly hsToken: string;
  readonly botUserId: string;
  readonly appserviceUrl: string;
}

export interface StubHomeserver {
  readonly url: string;
  /** Every request the service made, as `METHOD path`. */
  readonly requests: string[];
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

const PING = /^\/_matrix\/client\/v1\/appservice\/[^/]+\/ping$/;
const SEND = /^\/_matrix\/client\/v3\/rooms\/[^/]+\/send\/[^/]+\/[^/]+$/;

export async function startStubHomeserver(opts: StubHomeserverOptions): Promise<StubHomeserver> {
  const requests: string[] = [];
  let sent = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push(`${req.method ?? "?"} ${url.pathname}`);
    const authorised = req.headers.authorization === `Bearer ${opts.asToken}`;
    if (url.pathname === "/_matrix/client/versions") {
      send(res, 200, { versions: ["v1.11"], unstable_features: { "fi.mau.msc2659.stable": true } });
    } else if (!authorised && url.pathname !== "/.well-known/matrix/client") {
      send(res, 401, { errcode: "M_UNKNOWN_TOKEN", error: "Unknown token" });
    } else if (url.pathname === "/_matrix/client/v3/account/whoami") {
      send(res, 200, { user_id: url.searchParams.get("user_id") ?? opts.botUserId });
    } else if (url.pathname === "/_matrix/client/v3/joined_rooms") {
      send(res, 200, { joined_rooms: [] });
    } else if (PING.test(url.pathname) && req.method === "POST") {
      const started = performance.now();
      const answer = await fetch(`${opts.appserviceUrl}/_matrix/app/v1/ping`, {
        method: "POST",
        headers: { Authorization: `Bearer ${opts.hsToken}`, "Content-Type": "application/json" },
        body: "{}",
      }).catch(() => null);
      if (answer === null || !answer.ok) send(res, 502, { errcode: "M_BAD_STATUS", error: "no pong" });
      else send(res, 200, { duration_ms: Math.round(performance.now() - started) });
    } else if (SEND.test(url.pathname) && req.method === "PUT") {
      req.resume();
      send(res, 200, { event_id: `$stub${++sent}` });
    } else {
      send(res, 404, { errcode: "M_NOT_FOUND", error: "Not found" });
    }
  };
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
