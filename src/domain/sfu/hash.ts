// Unpadded base64 of SHA-256, as MSC4195 / lk-jwt-service derive LiveKit names.
import { hash } from "node:crypto";

/**
 * `b64(sha256(input))` with the standard alphabet and no `=` padding (Matrix "unpadded base64"). Not memoised:
 * a member's names are derived each time it is judged, about 3 µs, where keeping them cost about 400 bytes per
 * member. Made from the unpadded URL-safe digest, not by slicing the padding off: a slice is a view that keeps
 * the padded string alive.
 */
export function unpaddedB64Sha256(input: string): string {
  return hash("sha256", input, "base64url").replace(/[-_]/g, (c) => (c === "-" ? "+" : "/"));
}

/** `b64(sha256(canonicalJSON([...parts])))`: for arrays of strings, JSON.stringify is canonical JSON. */
export function hashedTuple(parts: readonly string[]): string {
  return unpaddedB64Sha256(JSON.stringify(parts));
}
