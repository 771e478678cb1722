// The README states the true requirements (the ones the provisioning script checks) and has the section .gitignore
// points at, naming every folder the scripts fill.
import { readFileSync } from "node:fs";

const README = readFileSync("README.md", "utf8");
const PROVISION = readFileSync("scripts/provision-e2e.sh", "utf8");
const LIB = readFileSync("scripts/lib.sh", "utf8");

/** The markdown between a `## heading` and the next `## ` heading. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** A `NAME="value"` assignment in a shell script. */
function shellValue(script: string, name: string): string {
  const match = new RegExp(`^${name}="([^"]+)"`, "m").exec(script);
  if (!match?.[1]) throw new Error(`${name} not found`);
  return match[1];
}

test("the section .gitignore points at exists and names every folder the scripts fill", () => {
  const gitignore = readFileSync(".gitignore", "utf8");
  const pointer = /README "([^"]+)"/.exec(gitignore)?.[1];
  expect(pointer).toBe("What gets installed where");
  const table = section("What gets installed where");
  for (const folder of [
    ".tools/node",
    "node_modules",
    "dist",
    ".tools/synapse-venv",
    ".tools/livekit",
    ".tools/go",
    ".tools/faketime",
    ".e2e/",
    "reports/",
    "data/",
  ])
    expect({ folder, listed: table.includes(`\`${folder}`) }).toEqual({ folder, listed: true });
});

test("the requirements are the versions the scripts check and install", () => {
  const quick = section("Quick start");
  expect(quick).toContain(`Python ≥ ${shellValue(PROVISION, "PYTHON_MIN")} with \`venv\``);
  expect(quick).toContain(`Go ≥ ${shellValue(PROVISION, "GO_MIN")}`);
  expect(quick).toContain(`install Node ${shellValue(LIB, "NODE_VERSION_PIN").split(".")[0] ?? ""} into`);
  expect(quick).toMatch(/`apt-get` and `dpkg`/);
  expect(quick).toMatch(/about \d+ GB of free disk/);
  expect(quick).toContain("bash scripts/provision-e2e.sh --check");
  expect(README).not.toMatch(/only Node 20/);
});

test("the disk the README asks for covers what the script reserves for a cold provisioning", () => {
  const gb = Number(/about (\d+) GB of free disk/.exec(section("Quick start"))?.[1]);
  const reserved = [...PROVISION.matchAll(/DISK_\w+_MB=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  expect(reserved).toBeGreaterThan(0);
  expect(gb * 1024).toBeGreaterThanOrEqual(reserved);
});
