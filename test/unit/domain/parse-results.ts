// Unwraps parse results in tests: the members of a slot result, the reasons of an invalid one (else it throws).
import type { RtcMember } from "../../../src/domain/membership/model";
import type { ParseResult } from "../../../src/domain/membership/parse/result";

export function members(result: ParseResult): readonly RtcMember[] {
  if (result.kind !== "slot") throw new Error(`expected slot, got ${JSON.stringify(result)}`);
  return result.members;
}

export function reasons(result: ParseResult): readonly string[] {
  if (result.kind !== "invalid") throw new Error(`expected invalid, got ${result.kind}`);
  return result.reasons;
}
