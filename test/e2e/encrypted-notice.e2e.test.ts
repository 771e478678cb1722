// Never silence in encrypted rooms, on the real stack: without a device of its own, the bot gives one notice per room.
import {
  ask,
  eventually,
  inviteBot,
  MatrixHttp,
  newRoom,
  newUser,
  sleep,
  type MatrixSession,
  type RoomEvent,
} from "./harness";
import { useStack } from "./harness/use-stack";

// The service without an encrypted device: what every encrypted room gets then (encrypted-commands covers the device).
const stack = useStack({ profile: "delayed-events", config: { encryption: { enabled: false } } });

/** What a megolm message looks like to anyone without its keys (the ciphertext is not real: nobody can read it). */
const megolm = (session: string) => ({
  algorithm: "m.megolm.v1.aes-sha2",
  ciphertext: "AwgAEpABnotreallyciphertext",
  device_id: "ENCDEV",
  sender_key: "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg",
  session_id: session,
});

async function noticesOf(user: MatrixSession, roomId: string): Promise<RoomEvent[]> {
  const events = await MatrixHttp.of(user).messages(roomId, { limit: 100 });
  return events.filter((e) => e.sender === stack.registration.botUserId && e.content.msgtype === "m.notice");
}

test("an encrypted message in a room created encrypted gets one plain notice; the room can then be asked about from elsewhere", async () => {
  const alice = await newUser(stack, "alice", "ALICE");
  const roomId = await newRoom(alice, {
    initial_state: [
      { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
    ],
  });
  await inviteBot(stack, alice, roomId);
  const api = MatrixHttp.of(alice);
  await api.sendEvent(roomId, "m.room.encrypted", megolm("s1"));
  const [notice] = await eventually(
    async () => {
      const found = await noticesOf(alice, roomId);
      return found.length > 0 ? found : undefined;
    },
    30_000,
    "the encrypted room notice",
    500,
  );
  const body = String(notice?.content.body);
  expect(body).toContain("This room is end-to-end encrypted");
  expect(body).toContain(`!rtc status ${roomId}`);

  await api.sendEvent(roomId, "m.room.encrypted", megolm("s2"));
  await api.sendEvent(roomId, "m.room.encrypted", megolm("s3"));
  await sleep(3_000);
  expect(await noticesOf(alice, roomId)).toHaveLength(1);

  // What the notice says works: the same user asks from an unencrypted room.
  const plain = await newRoom(alice);
  await inviteBot(stack, alice, plain);
  const status = await ask(stack, alice, plain, `!rtc status ${roomId}`);
  expect(status.text).toBe(`About ${roomId}:\nNo call in this room right now.`);
});
