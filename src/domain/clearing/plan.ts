// Which methods may end a ghost membership, least invasive first, or why none can (matrixrtc.md §3).
import type { MembershipFormat } from "../membership/model";

/**
 * - `delayed_leave`: send the user's own pending delayed leave (MSC4140): exactly what their client would have sent;
 * - `write_as_user`: write the leave as the user through appservice masquerade (local users only);
 * - `write_as_bot`: overwrite a key the user does not own with the bot's power level (local and remote users).
 */
export type ClearMethod = "delayed_leave" | "write_as_user" | "write_as_bot";

export type CannotClearReason =
  "remote_owned_key" | "remote_sticky" | "bot_power_too_low" | "bot_not_in_room" | "all_methods_disabled";

export interface ClearFacts {
  readonly format: MembershipFormat;
  /** The membership lives in room state (A/B/C/S) rather than a sticky event (D/E). */
  readonly isState: boolean;
  /** The user is ours to act for: on our server and in the registration's user namespace. */
  readonly localUser: boolean;
  /** The key starts with the user's id (`@user…`): only they (or, in MSC3757 rooms, a higher level) may write it. */
  readonly ownedKey: boolean;
  /** Whether the bot may write this key now: joined, enough power, and for owned keys strictly higher. */
  readonly bot: "can_write" | "not_in_room" | "power_too_low";
  readonly enabled: {
    readonly fireDelayedLeave: boolean;
    readonly writeAsUser: boolean;
    readonly writeAsBot: boolean;
  };
}

export type ClearPlan =
  | { readonly kind: "methods"; readonly methods: readonly ClearMethod[] }
  | { readonly kind: "cannot"; readonly reason: CannotClearReason };

/** Orders the usable methods; the caller tries them in turn until one succeeds. */
export function planClear(f: ClearFacts): ClearPlan {
  const methods: ClearMethod[] = [];
  if (f.localUser && f.enabled.fireDelayedLeave) methods.push("delayed_leave");
  if (f.localUser && f.enabled.writeAsUser) methods.push("write_as_user");
  if (f.isState && f.enabled.writeAsBot && f.bot === "can_write") methods.push("write_as_bot");
  if (methods.length > 0) return { kind: "methods", methods };
  if (!f.enabled.fireDelayedLeave && !f.enabled.writeAsUser && !f.enabled.writeAsBot) {
    return { kind: "cannot", reason: "all_methods_disabled" };
  }
  if (!f.isState) return { kind: "cannot", reason: "remote_sticky" };
  if (f.ownedKey) return { kind: "cannot", reason: "remote_owned_key" };
  if (f.bot === "not_in_room") return { kind: "cannot", reason: "bot_not_in_room" };
  return { kind: "cannot", reason: "bot_power_too_low" };
}

const METHOD_TEXT: Readonly<Record<ClearMethod, string>> = {
  delayed_leave: "the user's own delayed leave",
  write_as_user: "a leave written as the user",
  write_as_bot: "a leave written by the bot",
};

/** How a plan reads in a reply: what would clear the member, or why nothing can (null: the room is unreadable). */
export function describePlan(plan: ClearPlan | null): string {
  if (plan === null) return "cannot tell now (the room's rules could not be read)";
  if (plan.kind === "cannot") return `cannot clear (${plan.reason.replaceAll("_", " ")})`;
  return `clearable by ${plan.methods.map((m) => METHOD_TEXT[m]).join(", else ")}`;
}
