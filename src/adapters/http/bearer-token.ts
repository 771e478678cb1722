// Checks an `Authorization: Bearer <token>` header against a shared secret in constant time.
import { createHash, timingSafeEqual } from "node:crypto";

/** `missing`: no credentials were sent (401); `wrong`: credentials were sent and do not match (403). */
export type BearerCheck = "ok" | "missing" | "wrong";

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * Returns a checker for `secret`. Only the exact form `Bearer <secret>` passes (the scheme is case-insensitive,
 * RFC 9110 §11.1): no prefix, no suffix, no query parameter. Both sides are hashed first, so the comparison takes
 * the same time whatever the header's length and wherever it first differs.
 */
export function bearerChecker(secret: string): (header: string | undefined) => BearerCheck {
  if (secret === "") throw new Error("bearerChecker: the secret is empty");
  const expected = digest(secret);
  return (header) => {
    if (header === undefined || header.trim() === "") return "missing";
    const space = header.indexOf(" ");
    const scheme = space < 0 ? header : header.slice(0, space);
    const token = space < 0 ? "" : header.slice(space + 1);
    const schemeOk = scheme.toLowerCase() === "bearer";
    // Compared even when the scheme is wrong, so a wrong scheme answers no faster than a wrong token.
    const tokenOk = timingSafeEqual(digest(token), expected);
    return schemeOk && tokenOk ? "ok" : "wrong";
  };
}
