// Starts the encrypted js-sdk client (clients/encrypted-client.mts) as a child process and drives it over its HTTP port.
import * as path from "node:path";
import type { MatrixSession } from "./matrix-http";
import { CLIENTS_DIR, freshDir, requireFile, tail } from "./paths";
import { eventually } from "./ports";
import { spawnManaged, type ManagedProcess } from "./processes";

export interface BotMessage {
  readonly eventId: string;
  readonly ts: number;
  readonly encrypted: boolean;
  readonly decryptionFailure: boolean;
  readonly type: string;
  readonly body: string | null;
}

export interface EncryptedClient {
  readonly proc: ManagedProcess;
  /** Whether the client sees the room as encrypted. */
  readonly roomEncrypted: boolean;
  send(body: string): Promise<string>;
  botMessages(): Promise<BotMessage[]>;
  /** Sends `body` and waits for the bot's first message after it (decrypted by the client, or a failure). */
  ask(body: string, timeoutMs?: number): Promise<BotMessage>;
}

export async function startEncryptedClient(
  user: MatrixSession,
  roomId: string,
  botUserId: string,
): Promise<EncryptedClient> {
  const file = requireFile(path.join(CLIENTS_DIR, "encrypted-client.mjs"), "build first");
  const logFile = path.join(freshDir("encrypted-client"), "encrypted-client.log");
  let ready: ((v: { port: number; encrypted: boolean }) => void) | null = null;
  const readyP = new Promise<{ port: number; encrypted: boolean }>((resolve) => (ready = resolve));
  const proc = spawnManaged({
    name: "encrypted-client",
    command: process.execPath,
    args: [
      file,
      JSON.stringify({
        baseUrl: user.baseUrl,
        userId: user.userId,
        deviceId: user.deviceId,
        accessToken: user.accessToken,
        roomId,
        botUserId,
      }),
    ],
    logFile,
    onStdoutLine: (line) => {
      try {
        const e = JSON.parse(line) as { event?: string; port?: number; encrypted?: boolean };
        if (e.event === "ready" && typeof e.port === "number")
          ready?.({ port: e.port, encrypted: e.encrypted === true });
      } catch {
        return;
      }
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const exitedFirst = proc.exited.then((status): never => {
    throw new Error(`encrypted client exited (${status}):\n${tail(logFile)}`);
  });
  exitedFirst.catch(() => undefined); // its exit after it was ready is no failure
  const started = await Promise.race([
    readyP,
    exitedFirst,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`encrypted client not ready:\n${tail(logFile)}`));
      }, 60_000);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
  const base = `http://127.0.0.1:${started.port}`;
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`${method} ${route}: ${json.error ?? res.status}`);
    return json;
  };
  const client: EncryptedClient = {
    proc,
    roomEncrypted: started.encrypted,
    send: async (text) => (await call<{ eventId: string }>("POST", "/send", { body: text })).eventId,
    botMessages: async () => (await call<{ messages: BotMessage[] }>("GET", "/bot-messages")).messages,
    ask: async (text, timeoutMs = 45_000) => {
      const before = new Set((await client.botMessages()).map((m) => m.eventId));
      await client.send(text);
      return eventually(
        async () => {
          const fresh = (await client.botMessages()).filter((m) => !before.has(m.eventId));
          // Wait until the client has tried to decrypt it: a still-encrypted type means not yet.
          const first = fresh[0];
          return first !== undefined && (first.type !== "m.room.encrypted" || first.decryptionFailure)
            ? first
            : undefined;
        },
        timeoutMs,
        `the bot's answer to "${text}"`,
        300,
      );
    },
  };
  return client;
}
