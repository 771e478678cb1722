// Which events of a transaction the intake journals: busy types only when the bot or the call state needs them.

/** What the bot says about the messages it would act on. */
export interface BotInterest {
  looksLikeCommand(event: Record<string, unknown>): boolean;
  wantsEncrypted(event: Record<string, unknown>): boolean;
  /** Sees every `m.room.member` as it is journaled: the bot's own tells later events of the same transaction. */
  noteMembership(event: Record<string, unknown>): void;
}

/**
 * Messages only when they look like commands; encrypted events when sticky (possibly a call membership) or when
 * the bot would tell the room it cannot read them. Everything else the intake follows is kept.
 */
export function intakeFilter(bot: BotInterest): (type: string, event: Record<string, unknown>) => boolean {
  return (type, event) => {
    if (type === "m.room.message") return bot.looksLikeCommand(event);
    if (type === "m.room.encrypted") return "msc4354_sticky" in event || bot.wantsEncrypted(event);
    if (type === "m.room.member") bot.noteMembership(event);
    return true;
  };
}
