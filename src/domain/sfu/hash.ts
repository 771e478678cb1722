// Unpadded base64 of SHA-256, as MSC4195 / lk-jwt-service derive LiveKit names; memoised (pure, bounded).
import { hash } from "node:crypto";

const MEMO_LIMIT = 4096;
const memo = new Map<string, string>();

/**
 * `b64(sha256(input))` with the standard alphabet and no `=` padding (Matrix "unpadded base64"). Results
 * are memoised in a bounded table (cleared when full): the same input always gives the same output.
 */
export function unpaddedB64Sha256(input: string): string {
  const cached = memo.get(input);
  if (cached !== undefined) return cached;
  const digest = hash("sha256", input, "base64");
  const out = digest.endsWith("=") ? digest.slice(0, digest.indexOf("=")) : digest;
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(input, out);
  return out;
}

/** `b64(sha256(canonicalJSON([...parts])))`: for arrays of strings, JSON.stringify is canonical JSON. */
export function hashedTuple(parts: readonly string[]): string {
  return unpaddedB64Sha256(JSON.stringify(parts));
}
