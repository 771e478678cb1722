// The winston adapter: a line below the level costs nothing (its fields are never serialised); fields stay readable.
import { captureLogger } from "../../support/capture-logger";

/** A field that counts how often it is serialised. */
function probe(): { readonly field: { toJSON(): string }; serialised(): number } {
  let count = 0;
  return {
    field: {
      toJSON: () => {
        count++;
        return "probe";
      },
    },
    serialised: () => count,
  };
}

describe("createLogger", () => {
  test("a debug line with debug off is dropped before its fields are serialised, from a child too", () => {
    const { logger, lines } = captureLogger("info");
    const p = probe();
    const child = logger.child({ component: "intake" });
    child.debug("matrix event received", { content: p.field });
    logger.debug("matrix event received", { content: p.field });
    expect(p.serialised()).toBe(0);
    expect(lines()).toEqual([]);
    child.info("membership joined", { content: p.field });
    expect(p.serialised()).toBe(1);
    expect(lines()).toMatchObject([{ level: "info", message: "membership joined", component: "intake" }]);
  });

  test("each level writes at and above the configured one", () => {
    const { logger, lines } = captureLogger("debug");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines().map((l) => l.level)).toEqual(["debug", "info", "warn", "error"]);
  });

  test("errors and big integers in fields are written readably, nested in lists too", () => {
    const { logger, lines } = captureLogger("info");
    logger.warn("clear failed", { error: new Error("boom"), tried: [new TypeError("deep")], n: 10n });
    const [line] = lines();
    expect(line).toMatchObject({
      error: { name: "Error", message: "boom" },
      tried: [{ name: "TypeError", message: "deep" }],
      n: "10",
    });
    expect(typeof line?.time).toBe("string");
  });
});
