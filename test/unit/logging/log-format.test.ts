// Logs are readable lines on a terminal and JSON lines anywhere else, unless logging.format says otherwise.
import { PassThrough } from "node:stream";
import { createLogger, type LogFormat } from "../../../src/adapters/logging/winston-logger";

/** A stream that says it is (or is not) a terminal, collecting what is written. */
function sink(isTTY: boolean): { stream: NodeJS.WritableStream; lines: () => string[] } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream, lines: () => text.split("\n").filter((l) => l !== "") };
}

function logOnce(format: LogFormat, isTTY: boolean): string {
  const out = sink(isTTY);
  createLogger({ level: "info", format, stream: out.stream })
    .child({ component: "startup" })
    .warn("homeserver not reachable yet; retrying", {
      attempt: 2,
      gives_up_in_s: 57,
      url: "http://127.0.0.1:8008",
    });
  const [line] = out.lines();
  if (line === undefined) throw new Error("nothing was logged");
  return line;
}

const TEXT =
  /^\d\d:\d\d:\d\d\.\d{3} WARN {2}homeserver not reachable yet; retrying {2}component=startup attempt=2 gives_up_in_s=57 url=http:\/\/127\.0\.0\.1:8008$/;

test("auto (the default) writes readable lines to a terminal", () => {
  expect(logOnce("auto", true)).toMatch(TEXT);
});

test("auto writes JSON lines when the output is not a terminal (a pipe, a file, a collector)", () => {
  expect(JSON.parse(logOnce("auto", false))).toMatchObject({
    level: "warn",
    message: "homeserver not reachable yet; retrying",
    component: "startup",
    attempt: 2,
    gives_up_in_s: 57,
  });
});

test("a configured format wins over the terminal check", () => {
  expect(JSON.parse(logOnce("json", true))).toMatchObject({ level: "warn", attempt: 2 });
  expect(logOnce("text", false)).toMatch(TEXT);
});

test("text quotes only values that need it", () => {
  const out = sink(true);
  createLogger({ level: "info", format: "auto", stream: out.stream }).info("stopping", {
    signal: "SIGINT",
    reason: "two words",
    rooms: ["!a:x"],
  });
  expect(out.lines()[0]).toMatch(/ INFO {2}stopping {2}signal=SIGINT reason="two words" rooms=\["!a:x"\]$/);
});
