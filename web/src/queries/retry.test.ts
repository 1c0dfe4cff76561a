// The retry policy: network failures and server errors are asked again; problem answers (4xx) never are.
import { MutationObserver, QueryObserver } from "@tanstack/react-query";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "../api/problem";
import { createQueryClient } from "./queryClient";
import { isTransient, MAX_RETRIES, MAX_RETRY_DELAY_MS, retryDelay, shouldRetry } from "./retry";

const problem = (status: number, retryAfterS: number | null = null) => new ApiError(status, `HTTP ${status}`, null, null, retryAfterS);

describe("shouldRetry", () => {
  it("never retries a problem answer", () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422, 429]) expect(shouldRetry(0, problem(status))).toBe(false);
  });

  it("retries network failures and server errors, at most MAX_RETRIES times", () => {
    for (const status of [0, 500, 502, 503, 504]) {
      expect(isTransient(problem(status))).toBe(true);
      expect(shouldRetry(0, problem(status))).toBe(true);
      expect(shouldRetry(MAX_RETRIES - 1, problem(status))).toBe(true);
      expect(shouldRetry(MAX_RETRIES, problem(status))).toBe(false);
    }
  });

  it("never retries what is not an API error (an abort, a bug)", () => {
    expect(shouldRetry(0, new DOMException("aborted", "AbortError"))).toBe(false);
    expect(shouldRetry(0, new TypeError("x is undefined"))).toBe(false);
  });
});

describe("retryDelay", () => {
  it("doubles from one second, or waits as long as Retry-After says, within bounds", () => {
    expect([0, 1, 2].map((n) => retryDelay(n, problem(502)))).toEqual([1000, 2000, 4000]);
    expect(retryDelay(0, problem(503, 7))).toBe(7000);
    expect(retryDelay(0, problem(503, 3600))).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelay(10, problem(0))).toBe(MAX_RETRY_DELAY_MS);
  });
});

describe("the app's QueryClient", () => {
  /** How many times a query failing with `error` is asked (as a component would ask it), under the client's own retry policy. */
  async function attempts(error: Error): Promise<number> {
    const client = createQueryClient();
    const queryFn = vi.fn(() => Promise.reject(error));
    const observer = new QueryObserver(client, { queryKey: ["probe"], queryFn, retryDelay: 0 });
    await new Promise<void>((failed) => {
      const stop = observer.subscribe((result) => {
        if (result.status !== "error") return;
        stop();
        failed();
      });
    });
    return queryFn.mock.calls.length;
  }

  it("asks once for a 4xx problem", async () => {
    expect(await attempts(problem(404))).toBe(1);
    expect(await attempts(problem(422))).toBe(1);
  });

  it("asks again after a 5xx or a network failure", async () => {
    expect(await attempts(problem(503))).toBe(1 + MAX_RETRIES);
    expect(await attempts(problem(0))).toBe(1 + MAX_RETRIES);
  });

  it("sends a write once, whatever the failure", async () => {
    const client = createQueryClient();
    const mutationFn = vi.fn(() => Promise.reject(problem(503)));
    await new MutationObserver(client, { mutationFn }).mutate().catch(() => undefined);
    expect(mutationFn).toHaveBeenCalledTimes(1);
  });
});
