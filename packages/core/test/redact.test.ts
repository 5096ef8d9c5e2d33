import { describe, expect, it } from "vitest";
import { redactUrl } from "./internals.js";

describe("redactUrl", () => {
  it("hides the password and secret-looking query values, keeps the rest", () => {
    expect(redactUrl("redis://user:secret@h:1/0")).toBe("redis://user:***@h:1/0");
    expect(redactUrl("redis://h:1?prefix=a:&token=abc")).toBe("redis://h:1?prefix=a:&token=***");
    expect(redactUrl("memory://")).toBe("memory://");
    expect(redactUrl("redis://user@h")).toBe("redis://user@h");
  });

  it("hides passwords that hold unencoded /, ?, # or @ too", () => {
    for (const url of [
      "redis://:pa/ss@h:1",
      "redis://u:pa?ss@h:1",
      "redis://u:pa#ss@h:1",
      "redis://u:pa@ss@h:1",
    ]) {
      expect(redactUrl(url), url).not.toMatch(/pa|ss@/);
    }
  });
});
