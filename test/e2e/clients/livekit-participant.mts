// A real @livekit/rtc-node participant as a child process: connects, prints JSON lines, disconnects cleanly on SIGTERM.
import type * as RtcNode from "@livekit/rtc-node";
import type { ClientEvent, LiveKitParticipantOptions } from "../harness/client-options.js";

const opts = JSON.parse(process.argv[2] ?? "{}") as LiveKitParticipantOptions;
const stderr = (...parts: unknown[]): void => {
  process.stderr.write(`${parts.map((p) => (typeof p === "string" ? p : String(p))).join(" ")}\n`);
};
// stdout carries only our JSON lines.
console.log = console.info = console.warn = console.error = console.debug = stderr;

function emit(event: string, data: Record<string, unknown> = {}): void {
  const line: ClientEvent = { event, t: Date.now(), ...data };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  let leaving = false;
  let connecting: Promise<void> = Promise.resolve();
  let leave: () => Promise<void> = () => Promise.resolve();
  // Installed first: a SIGTERM that arrives right after "connected" is printed must still be a clean leave.
  process.on("SIGTERM", () => {
    if (leaving) return;
    leaving = true;
    void connecting
      .catch(() => undefined)
      .then(leave)
      .catch((err: unknown) => {
        emit("error", { message: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => process.exit(0));
  });
  const lk: typeof RtcNode = await import("@livekit/rtc-node");
  const room = new lk.Room();
  leave = async () => {
    await room.disconnect();
    emit("left");
    await lk.dispose();
  };
  room.on(lk.RoomEvent.Disconnected, (reason) => {
    emit("disconnected", { reason });
    if (!leaving) void lk.dispose().finally(() => process.exit(0));
  });
  const started = Date.now();
  connecting = room.connect(opts.wsUrl, opts.token, { autoSubscribe: false, dynacast: false });
  await connecting;
  emit("connected", {
    sid: room.localParticipant?.sid ?? "",
    identity: room.localParticipant?.identity ?? "",
    room: room.name ?? "",
    connectMs: Date.now() - started,
  });
}

main().catch((err: unknown) => {
  emit("error", { message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
