// Unpadded base64 of SHA-256, as MSC4195 / lk-jwt-service derive LiveKit names.
import { hash } from "node:crypto";

/**
 * `b64(sha256(input))` with the standard alphabet and no `=` padding (Matrix "unpadded base64"). Not memoised
 * here: the SFU name cache keeps each call's and each member's names, which is where they repeat.
 */
export function unpaddedB64Sha256(input: string): string {
  const digest = hash("sha256", input, "base64");
  return digest.endsWith("=") ? digest.slice(0, digest.indexOf("=")) : digest;
}

/** `b64(sha256(canonicalJSON([...parts])))`: for arrays of strings, JSON.stringify is canonical JSON. */
export function hashedTuple(parts: readonly string[]): string {
  return unpaddedB64Sha256(JSON.stringify(parts));
}
