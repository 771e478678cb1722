// Free loopback ports: picks unused TCP (or UDP) ports on 127.0.0.1 below the kernel's ephemeral range, never twice.
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";

const handedOut = new Set<number>();

/** Lowest port the kernel hands out on its own (for outgoing connections and port 0); Linux's default otherwise. */
function ephemeralStart(): number {
  try {
    const first = Number(
      fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > 11_000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * Ports are drawn from below the ephemeral range: a port the kernel picked for port 0 is free only for that
 * instant, and while a server starts up (Synapse takes seconds) any outgoing connection may be given it as its
 * local port, so the server then fails with EADDRINUSE. The kernel never assigns ports below the range itself.
 */
const PORT_MIN = 10_000;
const PORT_MAX = ephemeralStart() - 1;

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => {
      resolve(false);
    });
    server.listen(port, "127.0.0.1", () => {
      server.close(() => {
        resolve(true);
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
/**
 * Ports the fetch standard blocks ("bad ports"): Node's fetch refuses them ("fetch failed: bad port"), so a
 * server there could not be reached by the SDKs the tests use. Those at or above 1024.
 */
const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697,
  10080,
]);

export async function freePort(udpToo = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
    if (FETCH_BAD_PORTS.has(port) || handedOut.has(port) || !(await tcpFree(port))) continue;
    if (udpToo && !(await udpFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free loopback port found in ${PORT_MIN}-${PORT_MAX} after 200 attempts`);
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
