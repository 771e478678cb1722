// When a membership stops counting by its own rules, with a policy for formats that carry no expiry.
import type { DurationMs, EpochMs } from "../time";
import type { ExpiryPolicy, RtcMember } from "./model";

/** The default policy: a membership without an expiry of its own never expires by age. */
export const NO_MAX_AGE: ExpiryPolicy = Object.freeze({ maxAgeWithoutExpiry: null });

/**
 * The instant a member stops counting by expiry: its format's own (`expires_ts` for MSC3401, `created_ts +
 * expires` for the legacy and per-device formats, MSC4354 stickiness for sticky members), else for formats
 * without one (the seed MSC4143 state) `createdTs + policy.maxAgeWithoutExpiry`, else null (never).
 */
export function effectiveExpiry(member: RtcMember, policy: ExpiryPolicy): EpochMs | null {
  if (member.expiresAt !== null) return member.expiresAt;
  const maxAge = policy.maxAgeWithoutExpiry;
  return maxAge === null ? null : member.createdTs + maxAge;
}

/** Whether the member has expired at `now` (an expiry instant itself counts as expired). */
export function isExpired(member: RtcMember, now: EpochMs, policy: ExpiryPolicy): boolean {
  const expiry = effectiveExpiry(member, policy);
  return expiry !== null && now >= expiry;
}

/** How long until the member expires (negative once expired); null when it never does. */
export function timeToExpiry(member: RtcMember, now: EpochMs, policy: ExpiryPolicy): DurationMs | null {
  const expiry = effectiveExpiry(member, policy);
  return expiry === null ? null : expiry - now;
}
