// Matrix-style JSON error answers (`{errcode, error}`) for the appservice listener, never the framework's HTML.
import type { Response } from "express";
import { BodyError } from "./body";

export type MatrixErrcode =
  | "M_UNAUTHORIZED"
  | "M_FORBIDDEN"
  | "M_NOT_FOUND"
  | "M_UNRECOGNIZED"
  | "M_NOT_JSON"
  | "M_BAD_JSON"
  | "M_TOO_LARGE"
  | "M_UNKNOWN";

export function sendMatrixError(res: Response, status: number, errcode: MatrixErrcode, error: string): void {
  res.status(status).json({ errcode, error });
}

/** The answer to a body that could not be read or parsed: its own status, or 500 for anything else. */
export function bodyRefusal(err: unknown): { status: number; errcode: MatrixErrcode; error: string } {
  if (!(err instanceof BodyError)) return { status: 500, errcode: "M_UNKNOWN", error: "internal error" };
  const errcode = err.status === 413 ? "M_TOO_LARGE" : err.status === 400 ? "M_NOT_JSON" : "M_UNKNOWN";
  return { status: err.status, errcode, error: err.message };
}
