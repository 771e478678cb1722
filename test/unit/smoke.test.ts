import type { EpochMs } from "../../src/domain/time";

test("toolchain compiles and runs a typed test", () => {
  const t: EpochMs = 5;
  expect(t + 1).toBe(6);
});
