// Replies: control and bidi characters made visible, HTML escaped, lines clipped, the whole capped under the event limit.
import { MAX_LINE_LENGTH, ReplyBuilder, visible } from "../../../src/domain/commands/html";

/** The bytes a notice with this reply takes, as its content is sent. */
const contentBytes = (r: { text: string; html: string }): number =>
  Buffer.byteLength(
    JSON.stringify({
      msgtype: "m.notice",
      body: r.text,
      format: "org.matrix.custom.html",
      formatted_body: r.html,
    }),
  );

describe("visible", () => {
  test.each([
    ["DEV\nFAKE line", "DEV\\nFAKE line"],
    ["a\r\tb", "a\\r\\tb"],
    ["\u202Eevil", "\\u202Eevil"],
    ["x\u2066y\u2069z\u200Fw\u061C", "x\\u2066y\\u2069z\\u200Fw\\u061C"],
    ["zero\u200Bwidth\uFEFF", "zero\\u200Bwidth\\uFEFF"],
    ["\u0000\u007F\u0085\u2028\u2029", "\\u0000\\u007F\\u0085\\u2028\\u2029"],
    ["lone \uD800 surrogate", "lone \\uD800 surrogate"],
  ])("%j shows as %j", (input, shown) => {
    expect(visible(input)).toBe(shown);
  });

  test("ordinary text, accents, CJK and emoji pass unchanged", () => {
    const text = "@zoë:example.org (DEVICE_1) 電話 📞 — ok";
    expect(visible(text)).toBe(text);
  });
});

describe("ReplyBuilder", () => {
  test("a device id with a newline and a bidi override stays on its line in body and HTML", () => {
    const r = new ReplyBuilder().item("@bob:example.org (DEV\n• @admin: cleared\u202E)").build();
    expect(r.text).toBe("• @bob:example.org (DEV\\n• @admin: cleared\\u202E)");
    expect(r.text.split("\n")).toHaveLength(1);
    expect(r.html).toBe("• @bob:example.org (DEV\\n• @admin: cleared\\u202E)");
  });

  test("HTML in values is escaped; the builder's own markup is kept", () => {
    const r = new ReplyBuilder().heading("<b>x</b>").code("<img src=x>").build();
    expect(r.html).toBe("<b>&lt;b&gt;x&lt;/b&gt;</b><br>\n<code>&lt;img src=x&gt;</code>");
  });

  test("an over-long line is clipped with an ellipsis, never inside a surrogate pair", () => {
    const long = new ReplyBuilder().line("x".repeat(50_000)).build();
    expect(long.text).toHaveLength(MAX_LINE_LENGTH);
    expect(long.text.endsWith("…")).toBe(true);
    const emoji = new ReplyBuilder().line(`${"x".repeat(MAX_LINE_LENGTH - 3)}${"📞".repeat(10)}`).build();
    expect(emoji.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(emoji.text.endsWith("…")).toBe(true);
  });

  test("a reply with thousands of lines stays far below 64 KiB and says how many lines were left out", () => {
    const b = new ReplyBuilder().heading("3000 ghost membership(s)");
    for (let i = 0; i < 3000; i++)
      b.item(`@user${i}:example.org (${"D".repeat(60)}${i}) · expired · clearable`);
    const r = b.build();
    expect(contentBytes(r)).toBeLessThan(40_000);
    const lines = r.text.split("\n");
    const more = /^… (\d+) more line\(s\) not shown$/.exec(lines.at(-1) ?? "");
    expect(more).not.toBeNull();
    expect(lines.length - 1 + Number(more?.[1])).toBe(3001);
    expect(r.html.endsWith(`<i>${lines.at(-1) ?? ""}</i>`)).toBe(true);
  });

  test("even when every character must be escaped, a long reply stays below the cap", () => {
    const b = new ReplyBuilder();
    for (let i = 0; i < 500; i++) b.item(`"${"<\u202E".repeat(400)}`);
    expect(contentBytes(b.build())).toBeLessThan(40_000);
  });

  test("a short reply is whole", () => {
    const r = new ReplyBuilder().line("one").line("two").build();
    expect(r).toEqual({ text: "one\ntwo", html: "one<br>\ntwo" });
  });
});
