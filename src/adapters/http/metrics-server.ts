// The Prometheus listener: serves /metrics (and /health) from a registry on its own address, 127.0.0.1 by default.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export class MetricsServer {
  private server: Server | null = null;

  constructor(
    private readonly registry: Registry,
    private readonly bindAddress: string,
    private readonly port: number,
  ) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") {
        this.registry.metrics().then(
          (text) => {
            res.writeHead(200, { "Content-Type": this.registry.contentType });
            res.end(text);
          },
          (err: unknown) => {
            res.writeHead(500, { "Content-Type": "text/plain" });
            res.end(`metrics failed: ${String(err)}`);
          },
        );
        return;
      }
      if (req.method === "GET" && req.url === "/health") {
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("OK");
        return;
      }
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, this.bindAddress, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }
}
