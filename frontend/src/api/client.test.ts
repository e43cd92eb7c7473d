import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiProblem, hasSession, refreshSession, setAccessToken, unwrap } from "./client";

afterEach(() => {
  vi.unstubAllGlobals();
  setAccessToken(null);
});

describe("refreshSession", () => {
  it("spends the one-time refresh cookie once for concurrent callers", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ access_token: "t1" }), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    const answers = await Promise.all([refreshSession(), refreshSession(), refreshSession()]);
    expect(answers).toEqual([true, true, true]);
    expect(fetch).toHaveBeenCalledOnce();
    expect(hasSession()).toBe(true);
  });

  it("ends the session when the cookie is refused", async () => {
    setAccessToken("old");
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 401 })));
    expect(await refreshSession()).toBe(false);
    expect(hasSession()).toBe(false);
  });
});

describe("unwrap", () => {
  it("turns a problem into an error whose message is the problem's sentence", async () => {
    const response = new Response(null, { status: 422 });
    const problem = {
      type: "about:blank",
      title: "Invalid input",
      status: 422,
      code: "validation_failed",
      detail: "Fix the fields below.",
      errors: [{ field: "data.website", message: "Use an http(s) address." }],
    };
    const error = await unwrap(Promise.resolve({ error: problem, response })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiProblem);
    expect((error as ApiProblem).message).toBe("Fix the fields below.");
    expect((error as ApiProblem).fieldMessage("website")).toBe("Use an http(s) address.");
  });

  it("says what to do when the server cannot be reached", async () => {
    const error = await unwrap(Promise.reject(new TypeError("fetch failed"))).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/cannot be reached/);
  });
});
