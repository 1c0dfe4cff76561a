import { describe, expect, it } from "vitest";

import { ApiError, isAbortError, problemExtraLines, problemFromBody, problemFromResponse } from "./problem";

describe("problem details", () => {
  it("takes title, detail, status and extra from the body", () => {
    const error = problemFromBody(400, "Bad Request", { title: "Invalid request", detail: "from after to", status: 422, extra: [{ key: "to", message: "bad" }] });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.title).toBe("Invalid request");
    expect(error.detail).toBe("from after to");
    expect(error.status).toBe(422);
    expect(error.message).toBe("Invalid request: from after to");
    expect(problemExtraLines(error.extra)).toEqual(["to: bad"]);
  });

  it("falls back to the status line for odd bodies", () => {
    expect(problemFromBody(502, "Bad Gateway", "<html>oops</html>").detail).toBe("<html>oops</html>");
    expect(problemFromBody(500, "", null).title).toBe("HTTP 500");
  });

  it("reads a Response", async () => {
    const res = new Response(JSON.stringify({ title: "Not found", status: 404, detail: "no such table" }), {
      status: 404,
      headers: { "Content-Type": "application/problem+json" },
    });
    const error = await problemFromResponse(res);
    expect([error.status, error.title, error.detail]).toEqual([404, "Not found", "no such table"]);
  });

  it("words extra of several shapes", () => {
    expect(problemExtraLines({ symbols: "empty", n: 3 })).toEqual(["symbols: empty", "n: 3"]);
    expect(problemExtraLines(["a", 1])).toEqual(["a", "1"]);
    expect(problemExtraLines(null)).toEqual([]);
  });

  it("recognises aborts", () => {
    expect(isAbortError(new DOMException("x", "AbortError"))).toBe(true);
    expect(isAbortError(new Error("x"))).toBe(false);
  });
});

describe("Retry-After", () => {
  it("reads seconds and HTTP dates", async () => {
    const { parseRetryAfter } = await import("./problem");
    expect(parseRetryAfter("42")).toBe(42);
    expect(parseRetryAfter("Wed, 01 May 2024 12:00:30 GMT", Date.parse("2024-05-01T12:00:00Z"))).toBe(30);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });

  it("comes with the error", async () => {
    const res = new Response(JSON.stringify({ title: "Too many requests", status: 429 }), { status: 429, headers: { "Retry-After": "7" } });
    expect((await problemFromResponse(res)).retryAfterS).toBe(7);
  });
});
