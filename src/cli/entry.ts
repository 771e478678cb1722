// CLI entry: refuses Node < 22 before loading anything else (better-sqlite3 13 would crash later on Node 20).
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `matrix-rtc-reconciler needs Node >= 22 (Node 24 recommended); this is Node ${process.versions.node}.\n` +
      "From a checkout, run `npm run setup`: it installs Node 24 into .tools/ and bin/matrix-rtc-reconciler uses it.",
  );
  process.exit(1);
}

void import("./main.js").then(
  (cli) => cli.main(process.argv.slice(2)),
  (err: unknown) => {
    console.error("matrix-rtc-reconciler failed to load:", err);
    process.exit(1);
  },
);
