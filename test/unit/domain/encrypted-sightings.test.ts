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
  expect(s.read("$b1", BOB)).toMatchObject({ read: true, until: T0 + HOUR });
  expect(s.read("$b1", BOB)).toBeUndefined();
  expect(s.unreadUntil(BOB, T0 + 1)).toBeNull();
  expect(s.any(T0 + HOUR - 1)).toBe(true);
  expect(s.any(T0 + HOUR)).toBe(false);
  expect(s.lapse(T0 + HOUR)).toEqual([{ eventId: "read", sender: null, until: T0 + HOUR, read: true }]);
  expect([...s.all()]).toEqual([]);
});

test("read events take no room: a busy room's ordinary traffic never reaches the room's bound", () => {
  const s = new EncryptedSightings();
  for (let i = 0; i < MAX_SIGHTINGS * 4; i++) {
    s.note(`$e${i}`, `@u${i % 50}:example.org`, T0 + i);
    s.read(`$e${i}`, `@u${i % 50}:example.org`);
  }
  s.note("$b1", BOB, T0 + 5_000);
  expect(s.unreadUntil(ALICE, T0 + 6_000)).toBeNull();
  expect(s.unreadUntil(BOB, T0 + 6_000)).toBe(T0 + 5_000 + HOUR);
  expect([...s.all()]).toHaveLength(2);
});

test("a flooding sender overflows into an entry of their own: other senders stay decidable", () => {
  const s = new EncryptedSightings();
  s.note("$b1", BOB, T0);
  s.read("$b1", BOB);
  for (let i = 0; i < MAX_PER_SENDER + 10; i++) s.note(`$m${i}`, MALLORY, T0 + i);
  expect(s.unreadUntil(BOB, T0 + 100)).toBeNull();
  // The overflow entry lasts as long as the last event it stands for.
  expect(s.unreadUntil(MALLORY, T0 + 100)).toBe(T0 + MAX_PER_SENDER + 9 + HOUR);
  expect([...s.all()]).toHaveLength(MAX_PER_SENDER + 2);
});

test("past the room's bound, every sender counts as having an unread sighting (never a silent drop); a restart keeps it all", () => {
  const s = new EncryptedSightings();
  for (let i = 0; i < MAX_SIGHTINGS; i++) s.note(`$x${i}`, `@u${i % 10}:example.org`, T0);
  s.note("$b1", BOB, T0 + 5);
  expect(s.unreadUntil(ALICE, T0 + 10)).toBe(T0 + 5 + HOUR);
  expect(s.read("$b1", BOB)).toBeUndefined();
  const again = new EncryptedSightings();
  for (const entry of s.all()) again.restore(entry);
  expect([...again.all()]).toEqual([...s.all()]);
  expect(again.unreadUntil(ALICE, T0 + 10)).toBe(T0 + 5 + HOUR);
});
