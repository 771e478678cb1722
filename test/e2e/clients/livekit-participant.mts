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
  let room = new lk.Room();
  leave = async () => {
    await room.disconnect();
    emit("left");
    await lk.dispose();
  };
  /** Joins again after the server dropped us (as a call app does after an SFU restart), retrying each second. */
  const rejoin = async (): Promise<void> => {
    for (let attempt = 1; attempt <= 60 && !leaving; attempt++) {
      await new Promise((r) => setTimeout(r, 1000));
      room = new lk.Room();
      watch(room);
      try {
        await room.connect(opts.wsUrl, opts.token, { autoSubscribe: false, dynacast: false });
        emit("reconnected", { sid: room.localParticipant?.sid ?? "", attempt });
        return;
      } catch {
        // the server is not back yet
      }
    }
  };
  const watch = (r: RtcNode.Room): void => {
    // The SDK resumes a dropped signal connection by itself when it can.
    r.on(lk.RoomEvent.Reconnecting, () => {
      emit("reconnecting");
    });
    r.on(lk.RoomEvent.Reconnected, () => {
      emit("reconnected", { sid: r.localParticipant?.sid ?? "", bySdk: true });
    });
    r.on(lk.RoomEvent.Disconnected, (reason) => {
      emit("disconnected", { reason });
      if (leaving) return;
      if (opts.reconnect === true) void rejoin();
      else void lk.dispose().finally(() => process.exit(0));
    });
  };
  watch(room);
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
