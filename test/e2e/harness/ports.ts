// Free loopback ports: asks the kernel for an unused TCP (or UDP) port on 127.0.0.1 and never hands one out twice.
import * as dgram from "node:dgram";
import * as net from "node:net";

const handedOut = new Set<number>();

function probeTcp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, "127.0.0.1", () => {
      socket.close(() => {
        resolve(true);
      });
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on now; with `udpToo`, also free for UDP. */
export async function freePort(udpToo = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probeTcp();
    if (port === 0 || handedOut.has(port)) continue;
    if (udpToo && !(await udpFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("no free loopback port found after 50 attempts");
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after timeoutMs. */
export async function waitForTcp(
  port: number,
  timeoutMs: number,
  isDead?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    const dead = isDead?.();
    if (dead !== undefined) throw new Error(dead);
    if (Date.now() > deadline)
      throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 50 ms until it holds; rejects after timeoutMs. */
export async function waitUntil(check: () => boolean, timeoutMs: number, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Polls an async `check` every `intervalMs` until it returns a value other than undefined; rejects after timeoutMs. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what = "condition",
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
