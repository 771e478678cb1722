// Webhook relay in the test process: LiveKit posts here; it records each webhook and forwards the exact bytes and headers per the test's mode.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** pass: forward at once; drop: never; delayMs: forward later; duplicate: forward twice; reorder: hold one, send the next first. */
export type RelayMode = "pass" | "drop" | "duplicate" | "reorder" | { delayMs: number };

export interface RelayedWebhook {
  /** Webhook `id` (unique per event). */
  id: string;
  event: string;
  identity: string | undefined;
  participantSid: string | undefined;
  room: string | undefined;
  disconnectReason: string | number | undefined;
  /** Date.now() when the relay received it. */
  receivedAt: number;
  body: string;
  headers: Record<string, string>;
  /** What the relay did with it under the mode in force when it arrived. */
  action: "forwarded" | "dropped" | "delayed" | "duplicated" | "held" | "no-target";
  /** HTTP statuses the target answered (one per forward attempt; 0 = network error). */
  targetStatuses: number[];
}

export interface WebhookRelay {
  /** The URL to give LiveKit (`webhook.urls`). */
  url: string;
  setTarget(url: string | undefined): void;
  /** Changing mode releases a webhook held by `reorder`. */
  setMode(mode: RelayMode): void;
  received(): readonly RelayedWebhook[];
  waitFor(predicate: (w: RelayedWebhook) => boolean, timeoutMs: number): Promise<RelayedWebhook>;
  close(): Promise<void>;
}

interface WebhookJson {
  id?: string;
  event?: string;
  room?: { name?: string };
  participant?: { identity?: string; sid?: string; disconnectReason?: string | number };
}

const FORWARDED_HEADERS = ["content-type", "authorization"];

export async function startWebhookRelay(): Promise<WebhookRelay> {
  let target: string | undefined;
  let mode: RelayMode = "pass";
  let held: RelayedWebhook | undefined;
  const seen: RelayedWebhook[] = [];
  const waiters = new Set<() => void>();
  const pending = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();

  const forward = (w: RelayedWebhook): void => {
    if (target === undefined) return;
    const url = target;
    const job = fetch(url, {
      method: "POST",
      headers: w.headers,
      body: w.body,
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        w.targetStatuses.push(res.status);
      })
      .catch(() => {
        w.targetStatuses.push(0);
      });
    const tracked = job.finally(() => pending.delete(tracked));
    pending.add(tracked);
  };

  const release = (): void => {
    const h = held;
    held = undefined;
    if (h !== undefined) forward(h);
  };

  const dispatch = (w: RelayedWebhook): void => {
    if (target === undefined) {
      w.action = "no-target";
      return;
    }
    if (mode === "pass") {
      w.action = "forwarded";
      forward(w);
    } else if (mode === "drop") {
      w.action = "dropped";
    } else if (mode === "duplicate") {
      w.action = "duplicated";
      forward(w);
      forward(w);
    } else if (mode === "reorder") {
      if (held === undefined) {
        w.action = "held";
        held = w;
      } else {
        w.action = "forwarded";
        forward(w);
        release();
      }
    } else {
      w.action = "delayed";
      const timer = setTimeout(() => {
        timers.delete(timer);
        forward(w);
      }, mode.delayMs);
      timers.add(timer);
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let parsed: WebhookJson = {};
      try {
        parsed = JSON.parse(body) as WebhookJson;
      } catch {
        // recorded anyway
      }
      const headers: Record<string, string> = {};
      for (const name of FORWARDED_HEADERS) {
        const value = req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const w: RelayedWebhook = {
        id: parsed.id ?? "",
        event: parsed.event ?? "",
        identity: parsed.participant?.identity,
        participantSid: parsed.participant?.sid,
        room: parsed.room?.name,
        disconnectReason: parsed.participant?.disconnectReason,
        receivedAt: Date.now(),
        body,
        headers,
        action: "no-target",
        targetStatuses: [],
      };
      seen.push(w);
      dispatch(w);
      for (const wake of [...waiters]) wake();
      // Answer LiveKit at once so its per-room queue never waits on the test's target.
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/livekit/webhook`,
    setTarget: (url) => {
      target = url;
    },
    setMode: (next) => {
      mode = next;
      if (next !== "reorder") release();
    },
    received: () => seen,
    waitFor: (predicate, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = seen.find(predicate);
          if (hit === undefined) return false;
          waiters.delete(wake);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const wake = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          const events = seen.map((w) => `${w.event}(${w.identity ?? "-"})`).join(", ");
          reject(new Error(`no matching webhook within ${timeoutMs} ms; seen: ${events || "none"}`));
        }, timeoutMs);
        waiters.add(wake);
        check();
      }),
    close: async () => {
      held = undefined;
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([...pending]);
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
