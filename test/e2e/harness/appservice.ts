// Appservice registrations for tests, and a capturing appservice listener that records events exactly as Synapse delivers them.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { freshDir } from "./paths";

export interface Registration {
  file: string;
  id: string;
  asToken: string;
  hsToken: string;
  botLocalpart: string;
  url: string;
}

/** Writes a registration: bot exclusive, `@.*:localhost` non-exclusive, rooms `.*` non-exclusive, not rate limited. */
export function writeRegistration(opts: {
  url: string;
  id?: string;
  botLocalpart?: string;
  dir?: string;
}): Registration {
  const id = opts.id ?? `e2e-${randomBytes(4).toString("hex")}`;
  const botLocalpart = opts.botLocalpart ?? `${id}-bot`;
  const asToken = randomBytes(24).toString("hex");
  const hsToken = randomBytes(24).toString("hex");
  const registration = {
    id,
    url: opts.url,
    as_token: asToken,
    hs_token: hsToken,
    sender_localpart: botLocalpart,
    rate_limited: false,
    "de.sorunome.msc2409.push_ephemeral": false,
    namespaces: {
      users: [
        { exclusive: true, regex: `@${botLocalpart}:localhost` },
        { exclusive: false, regex: "@.*:localhost" },
      ],
      rooms: [{ exclusive: false, regex: ".*" }],
      aliases: [],
    },
  };
  const dir = opts.dir ?? freshDir("registration");
  const file = path.join(dir, `${id}.registration.yaml`);
  fs.writeFileSync(file, `${JSON.stringify(registration, null, 2)}\n`); // JSON is valid YAML
  return { file, id, asToken, hsToken, botLocalpart, url: opts.url };
}

export interface DeliveredEvent {
  /** The event exactly as it came in the transaction body. */
  event: Record<string, unknown> & {
    type: string;
    event_id: string;
    room_id: string;
    sender: string;
    state_key?: string;
  };
  txnId: string;
  /** Date.now() when the transaction arrived. */
  receivedAt: number;
}

export interface CapturingAppservice {
  url: string;
  port: number;
  events(): readonly DeliveredEvent[];
  waitForEvent(
    predicate: (e: DeliveredEvent["event"]) => boolean,
    timeoutMs: number,
  ): Promise<DeliveredEvent>;
  /** Transactions refused because the hs_token was wrong. */
  rejected(): number;
  close(): Promise<void>;
}

/** Listens on a free loopback port before the registration exists; call `setHsToken` once it does. */
export async function startCapturingAppservice(): Promise<
  CapturingAppservice & { setHsToken(token: string): void }
> {
  let hsToken: string | undefined;
  let rejected = 0;
  const seen: DeliveredEvent[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const token =
        req.headers.authorization?.replace(/^Bearer /, "") ?? url.searchParams.get("access_token");
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      };
      if (hsToken === undefined || token !== hsToken) {
        rejected += 1;
        reply(403, { errcode: "M_FORBIDDEN" });
        return;
      }
      const txn = /^\/_matrix\/app\/v1\/transactions\/([^/]+)$/.exec(url.pathname);
      if (req.method === "PUT" && txn !== null) {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          events?: DeliveredEvent["event"][];
        };
        const receivedAt = Date.now();
        for (const event of body.events ?? [])
          seen.push({ event, txnId: decodeURIComponent(txn[1] ?? ""), receivedAt });
        for (const wake of [...waiters]) wake();
        reply(200, {});
        return;
      }
      if (req.method === "POST" && url.pathname === "/_matrix/app/v1/ping") {
        reply(200, {});
        return;
      }
      reply(404, { errcode: "M_NOT_FOUND" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setHsToken: (token) => {
      hsToken = token;
    },
    events: () => seen,
    rejected: () => rejected,
    waitForEvent: (predicate, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = seen.find((d) => predicate(d.event));
          if (hit === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const types = seen.map((d) => d.event.type).join(", ");
          reject(new Error(`no matching event within ${timeoutMs} ms; delivered: ${types || "none"}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
