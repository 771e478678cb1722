// Suggests the key an unknown config key was probably meant to be: a near spelling at the same level, or the same name elsewhere.
import { z } from "zod";

/** Strips wrappers (default, prefault, optional, nullable) to reach the object or array schema underneath. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.ZodType;
    } else {
      return current;
    }
  }
}

/** The keys of the object schema found by following `path` (list indexes step into the element), or none. */
function keysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current = unwrapSchema(root);
  for (const part of path) {
    if (current instanceof z.ZodArray && typeof part === "number") {
      current = unwrapSchema(current.element as z.ZodType);
    } else if (current instanceof z.ZodObject && typeof part === "string") {
      const child = (current.shape as Record<string, z.ZodType>)[part];
      if (child === undefined) return [];
      current = unwrapSchema(child);
    } else {
      return [];
    }
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

/** Every key of the schema with its dotted path (list elements written `name[]`). */
function allPaths(schema: z.ZodType, prefix: string, out: { key: string; path: string }[]): void {
  const inner = unwrapSchema(schema);
  if (inner instanceof z.ZodArray) {
    allPaths(inner.element as z.ZodType, `${prefix}[]`, out);
  } else if (inner instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = inner.shape;
    for (const [key, child] of Object.entries(shape)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push({ key, path });
      allPaths(child, path, out);
    }
  }
}

/** Case, `_` and `-` do not matter: `dryRun`, `dry-run` and `dryrun` all read as `dry_run`. */
const loose = (key: string): string => key.toLowerCase().replace(/[_-]/g, "");

/** Optimal string alignment distance (Levenshtein plus swapping two neighbours). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The nearest known key for `key` found at `path`: one at the same level whose spelling is close (ignoring case,
 * `_` and `-`, then within a third of the key's length in edits), else the full path of a key of that very name
 * in another section. Null when nothing is close enough to be a useful guess.
 */
export function suggestKey(schema: z.ZodType, path: readonly PropertyKey[], key: string): string | null {
  const siblings = keysAt(schema, path);
  const wanted = loose(key);
  const exact = siblings.find((k) => loose(k) === wanted);
  if (exact !== undefined) return exact;
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: { key: string; d: number } | null = null;
  for (const k of siblings) {
    const d = distance(wanted, loose(k));
    if (d <= limit && (best === null || d < best.d)) best = { key: k, d };
  }
  if (best !== null) return best.key;
  const everywhere: { key: string; path: string }[] = [];
  allPaths(schema, "", everywhere);
  const elsewhere = everywhere.filter((p) => loose(p.key) === wanted);
  return elsewhere.length === 1 && elsewhere[0] !== undefined ? elsewhere[0].path : null;
}
