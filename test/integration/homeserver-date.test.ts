// The homeserver's Date header seeds the server clock estimate (so expiry is judged on server time after a restart).
import http from "node:http";
import { MatrixHttp } from "../../src/adapters/matrix/http";
import { ServerClockOffset } from "../../src/app/server-clock";
import { captureLogger } from "../support/capture-logger";
import { closeServer, listenOnLoopback } from "../support/net";

const SERVER_DATE = "Tue, 24 Nov 2026 10:00:00 GMT";

let server: http.Server;
let base = "";

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const status = req.url?.startsWith("/missing") ? 404 : 200;
    res.writeHead(status, { "Content-Type": "application/json", Date: SERVER_DATE });
    res.end(status === 200 ? "{}" : '{"errcode":"M_NOT_FOUND"}');
  });
  base = await listenOnLoopback(server);
});

afterAll(async () => {
  await closeServer(server);
});

test("every answer, success or error, tells the observer the server's Date and our time of arrival", async () => {
  const ourNow = Date.parse(SERVER_DATE) + 30_000; // our clock 30 s ahead
  const logs = captureLogger();
  const clock = new ServerClockOffset(logs.logger);
  const api = new MatrixHttp({
    baseUrl: base,
    accessToken: "t",
    logger: captureLogger().logger,
    now: () => ourNow,
    onServerDate: (serverMs, at) => {
      clock.observe(serverMs, at);
    },
  });
  expect(clock.offsetMs).toBe(0);
  await api.request("GET", "/_matrix/client/versions");
  expect(clock.offsetMs).toBe(30_000);
  await expect(api.request("GET", "/missing")).rejects.toThrow();
  expect(clock.toLocal(Date.parse(SERVER_DATE))).toBe(ourNow);
  expect(logs.lines().filter((l) => l.message === "homeserver clock offset")).toHaveLength(1);
});

test("requests work without an observer; with one, each answer's Date is told", async () => {
  const api = new MatrixHttp({ baseUrl: base, accessToken: "t", logger: captureLogger().logger });
  await expect(api.request("GET", "/_matrix/client/versions")).resolves.toEqual({});
  const seen: number[] = [];
  const observed = new MatrixHttp({
    baseUrl: base,
    accessToken: "t",
    logger: captureLogger().logger,
    onServerDate: (serverMs) => seen.push(serverMs),
  });
  await observed.request("GET", "/_matrix/client/versions");
  expect(seen).toEqual([Date.parse(SERVER_DATE)]);
});
