// Reads a YAML file's text without ever echoing it: a problem names its line and column, not the line (it may hold a secret).
import { parseDocument, type YAMLError } from "yaml";

export type YamlRead =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problems: string[] };

/** `BLOCK_AS_IMPLICIT_KEY` → `block as implicit key`: the parser's own words would quote the source. */
const words = (code: string): string => code.toLowerCase().replaceAll("_", " ");

function describe(issue: YAMLError): string {
  const at = issue.linePos?.[0];
  const where = at === undefined ? "" : ` at line ${at.line}, column ${at.col}`;
  return `not valid YAML${where} (${words(issue.code)})`;
}

/** Parses one YAML document; unknown tags count as problems too (the value they would give is a guess). */
export function readYaml(text: string): YamlRead {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const issues = [...doc.errors, ...doc.warnings];
  if (issues.length > 0) return { ok: false, problems: issues.map(describe) };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (err) {
    // Building the value fails only on aliases; the library's message would name the alias.
    const why =
      err instanceof ReferenceError
        ? "an alias (*name) refers to an anchor (&name) not defined before it"
        : "its aliases expand too far";
    return { ok: false, problems: [`not valid YAML: ${why}`] };
  }
}
