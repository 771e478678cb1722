// Ctrl-C during the demo: one line, everything the demo started stopped, exit 130; nothing else is printed after it.

/** 128 + SIGINT: what a shell reports for a program stopped by Ctrl-C. */
export const INTERRUPTED_EXIT_CODE = 130;

export interface Interruption {
  /** True once Ctrl-C (or SIGTERM) arrived: the demo then prints nothing more and reports no failure. */
  readonly interrupted: () => boolean;
}

/**
 * Handles SIGINT and SIGTERM. On a terminal, Ctrl-C reaches every process of the demo at once (Synapse, LiveKit, the
 * service and the clients stop by themselves); `stopAll` stops whatever still runs. A second Ctrl-C while stopping
 * kills what is left at once.
 */
export function handleInterruption(
  stopAll: () => Promise<void>,
  killNow: () => void,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Interruption {
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) {
      killNow();
      write(" killed.\n");
      process.exit(INTERRUPTED_EXIT_CODE);
    }
    interrupted = true;
    // The terminal has echoed ^C on the current line: start a fresh one.
    write(`${process.stdout.isTTY ? "\n" : ""}interrupted: stopping what the demo started…`);
    void stopAll()
      .catch(() => {
        killNow();
      })
      .finally(() => {
        write(" stopped.\n");
        process.exit(INTERRUPTED_EXIT_CODE);
      });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return { interrupted: () => interrupted };
}
