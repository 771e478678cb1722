// Encrypted sightings: what counts for the SFU choice, whose sticky members wait, and the bounds a flood meets.
import {
  EncryptedSightings,
  MAX_PER_SENDER,
  MAX_SIGHTINGS,
} from "../../../src/domain/membership/encrypted-sightings";
import { ALICE, BOB, T0 } from "./builders";

const HOUR = 3_600_000;
const MALLORY = "@mallory:example.org";

test("an unread sighting holds its sender's members until it is read or lapses; read or not, it counts for the SFU", () => {
  const s = new EncryptedSightings();
  s.note("$b1", BOB, T0);
  expect(s.unreadUntil(BOB, T0 + 1)).toBe(T0 + HOUR);
  expect(s.unreadUntil(ALICE, T0 + 1)).toBeNull();
  expect(s.read("$b1")).toMatchObject({ eventId: "$b1", read: true });
  expect(s.read("$b1")).toBeUndefined();
  expect(s.unreadUntil(BOB, T0 + 1)).toBeNull();
  expect(s.any(T0 + HOUR - 1)).toBe(true);
  expect(s.any(T0 + HOUR)).toBe(false);
  expect(s.lapse(T0 + HOUR).map((x) => x.eventId)).toEqual(["$b1"]);
  expect([...s.all()]).toEqual([]);
});

test("a flooding sender overflows into an entry of their own: other senders stay decidable", () => {
  const s = new EncryptedSightings();
  s.note("$b1", BOB, T0);
  s.read("$b1");
  for (let i = 0; i < MAX_PER_SENDER + 10; i++) s.note(`$m${i}`, MALLORY, T0 + i);
  expect(s.unreadUntil(BOB, T0 + 100)).toBeNull();
  // The overflow entry lasts as long as the last event it stands for.
  expect(s.unreadUntil(MALLORY, T0 + 100)).toBe(T0 + MAX_PER_SENDER + 9 + HOUR);
  expect([...s.all()].length).toBe(1 + MAX_PER_SENDER + 1);
});

test("past the room's bound, every sender counts as having an unread sighting (never a silent drop)", () => {
  const s = new EncryptedSightings();
  for (let i = 0; i < MAX_SIGHTINGS; i++) s.note(`$x${i}`, `@u${i % 100}:example.org`, T0);
  s.note("$b1", BOB, T0 + 5);
  expect(s.unreadUntil(ALICE, T0 + 10)).toBe(T0 + 5 + HOUR);
  expect(s.read("$b1")).toBeUndefined();
});
