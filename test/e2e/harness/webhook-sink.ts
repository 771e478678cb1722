// A stand-in webhook route for harness tests: records what arrives and, given a receiver, checks LiveKit's signature (401 when bad).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookReceiver } from "livekit-server-sdk";

export interface SinkDelivery {
  body: string;
  headers: http.IncomingHttpHeaders;
  /** Whether `WebhookReceiver.receive` accepted it (false when no receiver was given). */
  verified: boolean;
  event: string;
  receivedAt: number;
}

export interface WebhookSink {
  url: string;
  got(): readonly SinkDelivery[];
  close(): Promise<void>;
}

export async function startWebhookSink(receiver?: WebhookReceiver): Promise<WebhookSink> {
  const got: SinkDelivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const receivedAt = Date.now();
      const done = (verified: boolean, event: string): void => {
        got.push({ body, headers: req.headers, verified, event, receivedAt });
        res.writeHead(verified || receiver === undefined ? 200 : 401).end();
      };
      if (receiver === undefined) {
        done(false, "");
        return;
      }
      receiver.receive(body, req.headers.authorization).then(
        (ev) => {
          done(true, ev.event);
        },
        () => {
          done(false, "");
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
    got: () => got,
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
