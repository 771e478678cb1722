// Parses a room message into a command invocation: prefix, first line only, words; never trusts the input's types.

/** What a message asks of the bot: nothing, or a command word with its arguments. */
export type Invocation =
  | { readonly kind: "none" }
  | { readonly kind: "command"; readonly name: string; readonly args: readonly string[] };

const MAX_COMMAND_LENGTH = 1000;

/** Reads `<prefix> <name> [args…]` from a message body. Only the first line counts; over-long input is refused. */
export function parseInvocation(body: unknown, prefix: string): Invocation {
  if (typeof body !== "string") return { kind: "none" };
  const firstLine = body.split(/\r?\n/, 1)[0]?.trim() ?? "";
  if (firstLine !== prefix && !firstLine.startsWith(`${prefix} `)) return { kind: "none" };
  const rest = firstLine.slice(prefix.length).trim().slice(0, MAX_COMMAND_LENGTH);
  const words = rest.split(/\s+/).filter((w) => w !== "");
  const [name, ...args] = words;
  return { kind: "command", name: (name ?? "help").toLowerCase(), args };
}

/** A parsed argument list, or a reason to print with the usage. */
export type ArgsResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export const noArgs = (args: readonly string[]): ArgsResult<null> =>
  args.length === 0 ? { ok: true, value: null } : { ok: false, error: "takes no arguments" };

/** `[n]`: an optional count between 1 and max. */
export function optionalCount(args: readonly string[], fallback: number, max: number): ArgsResult<number> {
  if (args.length === 0) return { ok: true, value: fallback };
  const [first] = args;
  if (args.length > 1 || first === undefined || !/^\d+$/.test(first))
    return { ok: false, error: "expects one number" };
  const n = Number(first);
  if (n < 1 || n > max) return { ok: false, error: `the number must be between 1 and ${max}` };
  return { ok: true, value: n };
}

/** `[--dry-run]`. */
export function dryRunFlag(args: readonly string[]): ArgsResult<boolean> {
  if (args.length === 0) return { ok: true, value: false };
  if (args.length === 1 && args[0] === "--dry-run") return { ok: true, value: true };
  return { ok: false, error: "the only option is --dry-run" };
}

const USER_ID = /^@[^:\s]{1,255}:[A-Za-z0-9.:[\]-]{1,255}$/;

/** `@user:server`. */
export function userArg(args: readonly string[]): ArgsResult<string> {
  const [first] = args;
  if (args.length !== 1 || first === undefined) return { ok: false, error: "expects one user id" };
  if (!USER_ID.test(first)) return { ok: false, error: "expects a user id such as @alice:example.org" };
  return { ok: true, value: first };
}
