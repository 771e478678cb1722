// The decryption queue's order and bounds: keys served in turn, each bound refusing without keeping anything.
import { FairQueue } from "../../../src/app/intake/fair-queue";

test("keys are served in turn, each key's items oldest first", () => {
  const q = new FairQueue<string>({ total: 100, bytes: 1_000, perKey: 10 });
  for (const item of ["m1", "m2", "m3"]) q.push("mallory", item, 1);
  q.push("bob", "b1", 1);
  q.push("alice", "a1", 1);
  const order: (string | undefined)[] = [];
  while (q.length > 0) order.push(q.shift());
  expect(order).toEqual(["m1", "b1", "a1", "m2", "m3"]);
  expect(q.shift()).toBeUndefined();
  expect(q.bytes).toBe(0);
});

test("each bound refuses the item and keeps nothing of it", () => {
  const q = new FairQueue<string>({ total: 3, bytes: 10, perKey: 2 });
  expect(q.push("a", "a1", 4)).toBe(true);
  expect(q.push("a", "a2", 1)).toBe(true);
  expect(q.push("a", "a3", 1)).toBe(false);
  expect(q.push("b", "b1", 6)).toBe(false);
  expect(q.push("b", "b1", 5)).toBe(true);
  expect(q.push("c", "c1", 0)).toBe(false);
  expect({ length: q.length, bytes: q.bytes }).toEqual({ length: 3, bytes: 10 });
});
