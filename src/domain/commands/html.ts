// Escaping for everything the bot echoes into HTML (user ids, room names, reasons): nothing passes through raw.

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

/** A reply: the plain-text body and its HTML form, built together so they say the same thing. */
export interface Reply {
  readonly text: string;
  readonly html: string;
}

/** Builds a reply from lines whose parts are either literal markup-free text or values to escape. */
export class ReplyBuilder {
  private readonly textLines: string[] = [];
  private readonly htmlLines: string[] = [];

  /** A heading line. */
  heading(text: string): this {
    this.textLines.push(text);
    this.htmlLines.push(`<b>${escapeHtml(text)}</b>`);
    return this;
  }

  /** A plain line. */
  line(text: string): this {
    this.textLines.push(text);
    this.htmlLines.push(escapeHtml(text));
    return this;
  }

  /** A bulleted list item. */
  item(text: string): this {
    this.textLines.push(`• ${text}`);
    this.htmlLines.push(`• ${escapeHtml(text)}`);
    return this;
  }

  /** A line set in monospace (usage strings, ids). */
  code(text: string): this {
    this.textLines.push(text);
    this.htmlLines.push(`<code>${escapeHtml(text)}</code>`);
    return this;
  }

  build(): Reply {
    return { text: this.textLines.join("\n"), html: this.htmlLines.join("<br>\n") };
  }
}
