// scripts/provision-e2e.sh checks every prerequisite of what it is about to install first, one line each with what to
// install, and installs nothing when one is missing. Run on a copy of the scripts (a fresh clone: nothing in .tools/)
// with stand-in tools on PATH, so the answer does not depend on this machine.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Real commands the script needs to run at all. */
const BASICS = ["dirname", "sort", "head", "sed", "awk", "cat"];

interface Machine {
  python?: { version: string; venv: boolean };
  go?: string;
  apt?: boolean;
  npm?: boolean;
  freeMb?: number;
}

const clones: string[] = [];
afterAll(() => {
  for (const dir of clones) rmSync(dir, { recursive: true, force: true });
});

/** A fresh clone's scripts/ and a PATH holding only what `machine` has. */
function freshClone(machine: Machine): { root: string; path: string } {
  const root = mkdtempSync(join(tmpdir(), "rtc-provision-"));
  clones.push(root);
  mkdirSync(join(root, "scripts"));
  for (const f of ["lib.sh", "provision-e2e.sh"]) copyFileSync(join("scripts", f), join(root, "scripts", f));
  const bin = join(root, "bin");
  mkdirSync(bin);
  for (const cmd of BASICS) {
    const real = spawnSync("/bin/sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
    symlinkSync(real, join(bin, cmd));
  }
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  if (machine.python)
    tool(
      "python3",
      `case "$*" in *version_info*) echo ${machine.python.version} ;; *"import venv"*) exit ${machine.python.venv ? 0 : 1} ;; esac`,
    );
  if (machine.go) tool("go", `[ "$1 $2" = "env GOVERSION" ] && echo go${machine.go}`);
  if (machine.apt) {
    tool("apt-get", "exit 0");
    tool("dpkg", "exit 0");
  }
  if (machine.npm) tool("npm", "exit 0");
  const freeKb = (machine.freeMb ?? 100_000) * 1024;
  tool(
    "df",
    `echo "Filesystem 1024-blocks Used Available Capacity Mounted"; echo "fake 999999999 1 ${freeKb} 1% /"`,
  );
  return { root, path: bin };
}

function provision(machine: Machine, ...args: string[]) {
  const { root, path } = freshClone(machine);
  // Without a go on PATH the script also looks in /usr/local/go (Go's own install place): GO names the only one.
  const go = machine.go === undefined ? { GO: "/nowhere/go" } : {};
  const res = spawnSync("/bin/bash", [join(root, "scripts", "provision-e2e.sh"), ...args], {
    encoding: "utf8",
    env: { PATH: path, HOME: root, ...go },
    timeout: 20_000,
  });
  return {
    code: res.status,
    lines: res.stderr.split("\n").filter((l) => l !== ""),
    stdout: res.stdout,
    /** What the run left in the clone besides the scripts and the stand-in tools. */
    created: readdirSync(root).filter((f) => f !== "scripts" && f !== "bin"),
  };
}

const everything: Machine = { python: { version: "3.11", venv: true }, go: "1.26.8", apt: true, npm: true };

test("--check on a machine with every prerequisite lists each as ok and installs nothing", () => {
  const res = provision(everything, "--check");
  expect(res).toMatchObject({ code: 0, created: [] });
  expect(res.lines).toEqual([
    "ok: npm is there to install Node 24.21.0 into .tools/node (the Node on PATH is older than 22, or missing)",
    "ok: Python 3.11 with venv, for Synapse 1.163.2",
    "ok: Go 1.26.8, to build the LiveKit server v1.13.5",
    "ok: apt-get and dpkg, to fetch libfaketime",
    expect.stringMatching(
      /^ok: 100000 MB free under \S+ \(about 2001 MB needed for Node, node_modules, Synapse, LiveKit and Go's caches, libfaketime\)$/,
    ),
    "[provision-e2e] every prerequisite of a cold provisioning is there",
  ]);
});

test("a fresh clone missing everything: one line per prerequisite with what to install, and nothing installed", () => {
  const res = provision({ freeMb: 500 });
  expect(res.code).toBe(1);
  expect(res.created).toEqual([]);
  expect(res.lines).toEqual([
    "error: Node >= 22 is needed and there is neither a recent Node nor npm to install it with; install npm (Debian/Ubuntu: apt-get install npm) or Node 24",
    "error: Synapse 1.163.2 needs Python >= 3.10 with venv, and python3 was not found; install it (Debian/Ubuntu: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3",
    "error: the LiveKit server v1.13.5 is built with Go >= 1.26, and /nowhere/go was not found; install Go from https://go.dev/dl/ or set GO=/path/to/go",
    "error: apt-get and dpkg (Debian, Ubuntu) are needed to fetch libfaketime for the e2e suite's clock tests; without them, run the demo (npm run demo needs no libfaketime)",
    expect.stringMatching(
      /^error: about 2001 MB of free disk are needed under \S+ for Node, node_modules, Synapse, LiveKit and Go's caches, libfaketime; only 500 MB are free$/,
    ),
    'error: nothing was installed: 5 prerequisite(s) missing (README.md, "What gets installed where")',
  ]);
});

test("versions too old, and a Python without venv, are named with the version found and the one needed", () => {
  expect(provision({ ...everything, python: { version: "3.9", venv: true }, go: "1.22.4" }).lines).toEqual([
    "error: Python 3.9 is too old: Synapse 1.163.2 needs Python >= 3.10; install a newer one and set PYTHON=/path/to/python3.11",
    "error: Go 1.22.4 is too old: the LiveKit server v1.13.5 needs Go >= 1.26; install it from https://go.dev/dl/ or set GO=/path/to/go",
    'error: nothing was installed: 2 prerequisite(s) missing (README.md, "What gets installed where")',
  ]);
  expect(provision({ ...everything, python: { version: "3.12", venv: false } }).lines).toEqual([
    "error: Python 3.12 lacks the venv module Synapse is installed with; install it (Debian/Ubuntu: apt-get install python3-venv)",
    'error: nothing was installed: 1 prerequisite(s) missing (README.md, "What gets installed where")',
  ]);
});

test("the demo does not need apt-get or dpkg (libfaketime is for the e2e clock tests only)", () => {
  const res = provision({ ...everything, apt: false }, "--check", "--demo");
  expect(res.code).toBe(0);
  expect(res.lines.join("\n")).not.toContain("apt-get");
});
