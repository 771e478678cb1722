// Replies the bot posts: every echoed value escaped (HTML, control and bidi characters), each line and the whole capped.

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/**
 * Characters that would break a line, reorder the text around them or hide in it: C0/C1 controls (newlines
 * included), line and paragraph separators, bidi marks, embeddings, overrides and isolates (U+061C, U+200E–F,
 * U+202A–E, U+2066–9), zero-width characters and BOM, and lone surrogates.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|\p{Cs}/gu;

const SHORT: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Shows every invisible or reordering character as a visible escape (`\n`, `\u202E`), so a value reads as it is. */
export function visible(text: string): string {
  return text.replace(
    INVISIBLE,
    (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`,
  );
}

/** The longest line kept (in UTF-16 units, after escaping); longer ones end in "…". */
export const MAX_LINE_LENGTH = 1_000;
/**
 * The most the `body` and `formatted_body` of one reply may take, JSON-encoded, in UTF-8 bytes: well under
 * the 65 536 bytes a homeserver accepts for a whole event (signatures, hashes and references included).
 */
export const MAX_REPLY_BYTES = 32_000;
const RESERVED_FOR_MORE = 200;

function clip(text: string): string {
  if (text.length <= MAX_LINE_LENGTH) return text;
  let end = MAX_LINE_LENGTH - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // never split a surrogate pair
  return `${text.slice(0, end)}…`;
}

function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** What one line adds to the event: both forms JSON-encoded, with their separators. */
const costOf = (l: Line): number => utf8Bytes(JSON.stringify(l.text)) + utf8Bytes(JSON.stringify(l.html)) + 8;

/** A reply: the plain-text body and its HTML form, built together so they say the same thing. */
export interface Reply {
  readonly text: string;
  readonly html: string;
}

interface Line {
  readonly text: string;
  readonly html: string;
}

/**
 * Builds a reply from lines. Each part is text: it is made visible (`visible`), clipped to `MAX_LINE_LENGTH`,
 * and HTML-escaped for the HTML form; markup only comes from the builder. Past `MAX_REPLY_BYTES` the remaining
 * lines are replaced by one "… N more line(s)" line.
 */
export class ReplyBuilder {
  private readonly lines: Line[] = [];

  private push(prefix: string, text: string, wrap: (html: string) => string): this {
    const shown = clip(visible(text));
    this.lines.push({ text: `${prefix}${shown}`, html: wrap(`${prefix}${escapeHtml(shown)}`) });
    return this;
  }

  /** A heading line. */
  heading(text: string): this {
    return this.push("", text, (h) => `<b>${h}</b>`);
  }

  /** A plain line. */
  line(text: string): this {
    return this.push("", text, (h) => h);
  }

  /** A bulleted list item. */
  item(text: string): this {
    return this.push("• ", text, (h) => h);
  }

  /** A line set in monospace (usage strings, ids). */
  code(text: string): this {
    return this.push("", text, (h) => `<code>${h}</code>`);
  }

  build(): Reply {
    let kept = 0;
    let used = 0;
    for (const l of this.lines) {
      const cost = costOf(l);
      if (used + cost > MAX_REPLY_BYTES - RESERVED_FOR_MORE) break;
      used += cost;
      kept++;
    }
    const shown = this.lines.slice(0, kept);
    const rest = this.lines.length - kept;
    if (rest > 0) {
      const more = `… ${rest} more line(s) not shown`;
      shown.push({ text: more, html: `<i>${escapeHtml(more)}</i>` });
    }
    return {
      text: shown.map((l) => l.text).join("\n"),
      html: shown.map((l) => l.html).join("<br>\n"),
    };
  }
}
