// A real matrix-js-sdk 43 client with its own wasm crypto (keys in memory): sends messages into an encrypted room and reads the bot's replies; driven over a loopback HTTP port.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type * as Sdk from "matrix-js-sdk";

/** Passed as one JSON argument. */
interface EncryptedClientOptions {
  baseUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
  roomId: string;
  botUserId: string;
}

const opts = JSON.parse(process.argv[2] ?? "{}") as EncryptedClientOptions;
const stderr = (...parts: unknown[]): void => {
  process.stderr.write(`${parts.map((p) => (typeof p === "string" ? p : safeJson(p))).join(" ")}\n`);
};
// stdout carries only our JSON lines.
console.log = console.info = console.warn = console.error = stderr;
console.debug = console.trace = (): void => undefined;

function safeJson(value: unknown): string {
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function emit(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, t: Date.now(), ...data })}\n`);
}

async function readBody(req: import("node:http").IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
}

async function main(): Promise<void> {
  const sdk: typeof Sdk = await import("matrix-js-sdk");
  const client = sdk.createClient({
    baseUrl: opts.baseUrl,
    userId: opts.userId,
    deviceId: opts.deviceId,
    accessToken: opts.accessToken,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  const prepared = new Promise<void>((resolve, reject) => {
    client.on(sdk.ClientEvent.Sync, (state) => {
      if (state === sdk.SyncState.Prepared) resolve();
      if (state === sdk.SyncState.Error) reject(new Error("sync failed"));
    });
  });
  await client.startClient({ initialSyncLimit: 10 });
  await prepared;
  let room = client.getRoom(opts.roomId);
  for (let i = 0; room === null && i < 300; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    room = client.getRoom(opts.roomId);
  }
  if (room === null) throw new Error(`room ${opts.roomId} never appeared in sync`);
  const inRoom = room;

  /** The bot's messages in the room, decrypted where the client could. */
  const botMessages = () =>
    inRoom
      .getLiveTimeline()
      .getEvents()
      .filter(
        (e) => e.getSender() === opts.botUserId && (e.isEncrypted() || e.getType() === "m.room.message"),
      )
      .map((e) => ({
        eventId: e.getId(),
        ts: e.getTs(),
        encrypted: e.isEncrypted(),
        decryptionFailure: e.isDecryptionFailure(),
        type: e.getType(),
        body: e.getContent<{ body?: string }>().body ?? null,
      }));

  const server = createServer((req, res) => {
    void (async () => {
      try {
        let out: unknown;
        if (req.method === "POST" && req.url === "/send") {
          const body = await readBody(req);
          const sent = await client.sendTextMessage(opts.roomId, String(body.body));
          out = { eventId: sent.event_id };
        } else if (req.method === "GET" && req.url === "/bot-messages") {
          out = { messages: botMessages() };
        } else {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
      } catch (err) {
        res
          .writeHead(500, { "content-type": "application/json" })
          .end(JSON.stringify({ error: safeJson(err) }));
      }
    })();
  });
  const encrypted = (await client.getCrypto()?.isEncryptionEnabledInRoom(opts.roomId)) ?? false;
  server.listen(0, "127.0.0.1", () => {
    emit("ready", { port: (server.address() as AddressInfo).port, encrypted });
  });
  process.on("SIGTERM", () => {
    client.stopClient();
    server.close();
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  emit("error", { message: safeJson(err) });
  process.exit(1);
});
