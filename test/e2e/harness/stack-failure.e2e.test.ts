// The e2e stack's own clean-up: a stack whose service cannot start leaves no process or server behind.
import * as net from "node:net";
import { runningPids } from "./processes";
import { startStack } from "./stack";

test("a stack whose service cannot bind its port fails, and leaves no Synapse or LiveKit running", async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const address = blocker.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  try {
    await expect(
      startStack({ profile: "no-delayed-events", faults: true, config: { appservice: { port } } }),
    ).rejects.toThrow(/EADDRINUSE/);
    // Without the clean-up, Synapse and LiveKit kept running and jest never exited after the run.
    expect(runningPids()).toEqual([]);
  } finally {
    await new Promise<void>((resolve) =>
      blocker.close(() => {
        resolve();
      }),
    );
  }
}, 180_000);
