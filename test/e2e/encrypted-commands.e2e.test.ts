// The bot's encrypted device on the real stack: a js-sdk 43 client with its own crypto gets encrypted answers, across a restart.
import {
  eventually,
  inviteBot,
  MatrixHttp,
  newRoom,
  newUser,
  type MatrixSession,
  type RoomEvent,
} from "./harness";
import { startEncryptedClient } from "./harness/encrypted-client";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "delayed-events", config: { encryption: { key_wait: "2s" } } });

const ENCRYPTION = {
  type: "m.room.encryption",
  state_key: "",
  content: { algorithm: "m.megolm.v1.aes-sha2" },
};

async function plainNotices(user: MatrixSession, roomId: string): Promise<RoomEvent[]> {
  const events = await MatrixHttp.of(user).messages(roomId, { limit: 100 });
  return events.filter((e) => e.sender === stack.registration.botUserId && e.type === "m.room.message");
}

/** The bot's devices as another user's client sees them (keys/query), with who signed each. */
async function botDevices(user: MatrixSession): Promise<{ deviceId: string; signers: string[] }[]> {
  const bot = stack.registration.botUserId;
  const res = await MatrixHttp.of(user).request<{
    device_keys?: Record<string, Record<string, { signatures?: Record<string, Record<string, string>> }>>;
  }>("POST", "/_matrix/client/v3/keys/query", { device_keys: { [bot]: [] } });
  return Object.entries(res.device_keys?.[bot] ?? {}).map(([deviceId, keys]) => ({
    deviceId,
    signers: Object.keys(keys.signatures?.[bot] ?? {}),
  }));
}

test("in a room created encrypted, a real client's command is decrypted and answered encrypted, also after a restart; an unreadable message gets the notice", async () => {
  const alice = await newUser(stack, "alice", "ALICEE2E");
  const roomId = await newRoom(alice, { initial_state: [ENCRYPTION] });
  await inviteBot(stack, alice, roomId);
  const client = await startEncryptedClient(alice, roomId, stack.registration.botUserId);
  expect(client.roomEncrypted).toBe(true);

  const answer = await client.ask("!rtc status");
  expect(answer).toMatchObject({
    encrypted: true,
    decryptionFailure: false,
    body: "No call in this room right now.",
  });

  // The device is cross-signed by the bot's identity: signed by itself and by one more (self-signing) key.
  const [device, ...others] = await botDevices(alice);
  expect(others).toEqual([]);
  expect(device?.signers).toHaveLength(2);

  // A message whose key the bot never got: one plain notice saying why and where to ask instead.
  await MatrixHttp.of(alice).sendEvent(roomId, "m.room.encrypted", {
    algorithm: "m.megolm.v1.aes-sha2",
    ciphertext: "AwgAEpABnotreallyciphertext",
    device_id: "NOSUCHDEV",
    sender_key: "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg",
    session_id: "nosuchsession",
  });
  const [notice] = await eventually(
    async () => {
      const found = await plainNotices(alice, roomId);
      return found.length > 0 ? found : undefined;
    },
    30_000,
    "the notice for the unreadable message",
    500,
  );
  expect(String(notice?.content.body)).toContain(
    "An encrypted message here could not be read by this service",
  );
  expect(String(notice?.content.body)).toContain(`!rtc status ${roomId}`);

  // A restart replaces the device (its keys lived in memory); the client shares keys with the new one by itself.
  await stack.restartReconciler();
  const after = await eventually(
    async () => {
      const reply = await client.ask("!rtc help", 20_000).catch(() => undefined);
      return reply !== undefined && !reply.decryptionFailure ? reply : undefined;
    },
    90_000,
    "an encrypted answer after the restart",
    1_000,
  );
  expect(after.encrypted).toBe(true);
  expect(after.body).toContain("matrix-rtc-reconciler commands");
  const afterRestart = await botDevices(alice);
  expect(afterRestart).toHaveLength(1);
  expect(afterRestart[0]?.deviceId).not.toBe(device?.deviceId);
  expect(afterRestart[0]?.signers).toHaveLength(2);
  await client.proc.stop();
});
