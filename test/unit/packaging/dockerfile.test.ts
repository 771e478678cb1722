// The Dockerfile cannot be built here (no Docker engine): check what can be checked without one.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const dockerfile = readFileSync("Dockerfile", "utf8");
const lines = dockerfile.split("\n").map((l) => l.trim());

describe("Dockerfile", () => {
  test("every file or folder it copies from the build context exists", () => {
    const sources = lines
      .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
      .flatMap((l) => l.slice("COPY ".length).split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources)
      expect({ source, exists: existsSync(source) }).toEqual({ source, exists: true });
  });

  test("the build stage compiles with a tsconfig that exists and covers src only", () => {
    expect(dockerfile).toContain("tsc -p tsconfig.build.json");
    const build = JSON.parse(readFileSync("tsconfig.build.json", "utf8")) as { include: string[] };
    expect(build.include).toEqual(["src"]);
  });

  test("runs on Node 24 slim, as a non-root user, with a data volume, a health check and the CLI entrypoint", () => {
    expect(lines.filter((l) => l.startsWith("FROM ")).every((l) => l.includes("node:24-slim"))).toBe(true);
    expect(lines).toContain("USER node");
    expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\\\n\s+CMD .*fetch\(process\.env\.HEALTH_URL\)/m);
    expect(dockerfile).toContain("HEALTH_URL=http://127.0.0.1:9000/health");
    expect(lines).toContain('ENTRYPOINT ["/app/bin/matrix-rtc-reconciler"]');
    // Relative paths in the config (the default database path) resolve in the volume.
    expect(lines).toContain("WORKDIR /data");
    expect(statSync("bin/matrix-rtc-reconciler").mode & 0o111).not.toBe(0);
  });

  test("the final image has package.json above dist/, where --version reads the version", () => {
    expect(lines).toContain("WORKDIR /app");
    expect(lines).toContain("COPY --from=build /app/package.json ./package.json");
    expect(lines).toContain("COPY --from=build /app/dist/src ./dist/src");
  });

  test("installs production dependencies only in the final image", () => {
    expect(dockerfile).toContain("npm prune --omit=dev");
  });
});

describe("production dependencies", () => {
  test("nothing under src/ imports a dev dependency (the image has none)", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const dev = Object.keys(pkg.devDependencies);
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith(".ts")) {
          const text = readFileSync(path, "utf8");
          for (const name of dev) {
            if (new RegExp(`from "${name.replace(/[/.]/g, "\\$&")}(/[^"]*)?"`).test(text))
              offenders.push(`${path}: ${name}`);
          }
        }
      }
    };
    walk("src");
    expect(offenders).toEqual([]);
  });
});
