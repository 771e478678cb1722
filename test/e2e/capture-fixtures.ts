// Regenerates test/fixtures/captured/*.json: real js-sdk 43 membership events (state and sticky, join and leave) as Synapse delivers them to an appservice.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  DEFAULT_LIVEKIT_SERVICE_URL,
  MatrixHttp,
  registerUser,
  ROOT,
  startCapturingAppservice,
  startMatrixRtcClient,
  startSynapse,
  SYNAPSE_PYTHON,
  writeRegistration,
  type CapturingAppservice,
  type DeliveredEvent,
} from "./harness";

const OUT_DIR = path.join(ROOT, "test", "fixtures", "captured");
const CALL_MEMBER = "org.matrix.msc3401.call.member";
const RTC_MEMBER = "org.matrix.msc4143.rtc.member";

function versions(): { synapse: string; "matrix-js-sdk": string } {
  const py = spawnSync(
    SYNAPSE_PYTHON,
    ["-c", 'import importlib.metadata as m; print(m.version("matrix-synapse"))'],
    {
      encoding: "utf8",
    },
  );
  const sdk = JSON.parse(
    fs.readFileSync(path.join(ROOT, "node_modules", "matrix-js-sdk", "package.json"), "utf8"),
  ) as {
    version: string;
  };
  return { synapse: py.stdout.trim(), "matrix-js-sdk": sdk.version };
}

interface Capture {
  name: string;
  description: string;
  delivered: DeliveredEvent;
}

async function captureMode(
  baseUrl: string,
  app: CapturingAppservice,
  mode: "state" | "sticky",
): Promise<{ roomVersion: string; captures: Capture[] }> {
  const [username, deviceId] = mode === "state" ? ["alice", "DEVA"] : ["carol", "DEVC"];
  const user = await registerUser(baseUrl, { username, deviceId });
  const api = MatrixHttp.of(user);
  const roomId = await api.createRoom({ preset: "private_chat", name: `capture ${mode}` });
  const create = await api.getStateEvent(roomId, "m.room.create", "");
  const roomVersion = typeof create?.["room_version"] === "string" ? create["room_version"] : "1";
  const client = startMatrixRtcClient({
    baseUrl,
    userId: user.userId,
    deviceId: user.deviceId,
    accessToken: user.accessToken,
    roomId,
    livekitServiceUrl: DEFAULT_LIVEKIT_SERVICE_URL,
    sticky: mode === "sticky",
  });
  const type = mode === "state" ? CALL_MEMBER : RTC_MEMBER;
  const mine = (e: DeliveredEvent["event"]): boolean =>
    e.room_id === roomId && e.type === type && e.sender === user.userId;
  const hasMember = (e: DeliveredEvent["event"]): boolean => {
    const content = e["content"] as Record<string, unknown>;
    return mode === "state" ? "application" in content : "member" in content;
  };
  try {
    await client.waitFor("joined-call", 60_000);
    const join = await app.waitForEvent((e) => mine(e) && hasMember(e), 30_000);
    await client.terminate();
    const leave = await app.waitForEvent(
      (e) => mine(e) && !hasMember(e) && e.event_id !== join.event.event_id,
      30_000,
    );
    const what = mode === "state" ? "state event (format C)" : "sticky timeline event (format D, MSC4354)";
    return {
      roomVersion,
      captures: [
        {
          name: `${mode}-join`,
          description: `js-sdk joinRoomSession in ${mode} mode: the membership ${what}, as delivered in an appservice transaction`,
          delivered: join,
        },
        {
          name: `${mode}-leave`,
          description: `js-sdk leaveRoomSession (clean leave, SIGTERM) in ${mode} mode: the leave ${what}, as delivered in an appservice transaction`,
          delivered: leave,
        },
      ],
    };
  } finally {
    await client.kill();
  }
}

async function main(): Promise<void> {
  const app = await startCapturingAppservice();
  const registration = writeRegistration({ url: app.url, id: "capture-fixtures" });
  app.setHsToken(registration.hsToken);
  const synapse = await startSynapse({ profile: "delayed-events", registrationFiles: [registration.file] });
  try {
    const capturedWith = versions();
    fs.mkdirSync(OUT_DIR, { recursive: true });
    for (const mode of ["state", "sticky"] as const) {
      const { roomVersion, captures } = await captureMode(synapse.baseUrl, app, mode);
      for (const c of captures) {
        const file = path.join(OUT_DIR, `${c.name}.json`);
        const fixture = {
          description: c.description,
          capturedWith,
          roomVersion,
          receivedAt: c.delivered.receivedAt,
          event: c.delivered.event,
        };
        fs.writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
        console.log(`wrote ${path.relative(ROOT, file)} (${c.delivered.event.type})`);
      }
    }
  } finally {
    await synapse.stop();
    await app.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
