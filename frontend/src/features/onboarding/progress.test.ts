import { describe, expect, it } from "vitest";
import type { Onboarding } from "../../api/types";
import { resumeScreen, SCREENS, screenDone } from "./progress";

type StepStatus = Onboarding["steps"][number]["status"];

function progress(done: Partial<Record<string, StepStatus>>): Onboarding {
  return {
    launched_at: null,
    steps: SCREENS.flat().map((id) => ({
      id,
      status: done[id] ?? "pending",
      required: false,
      recommended: false,
      can_skip: true,
    })),
  };
}

describe("wizard progress", () => {
  it("has nine screens for the server's ten steps", () => {
    expect(SCREENS).toHaveLength(9);
    expect(SCREENS.flat()).toHaveLength(10);
  });

  it("resumes at the first screen with a pending step", () => {
    expect(resumeScreen(progress({}))).toBe(0);
    expect(resumeScreen(progress({ basic_info: "completed", connect_shopify: "completed" }))).toBe(1);
    expect(
      resumeScreen(progress({ basic_info: "completed", connect_shopify: "completed", shopify_setup: "completed", domains: "skipped" })),
    ).toBe(3);
  });

  it("counts a skipped step as done and stays on the last screen when everything is", () => {
    const all = Object.fromEntries(SCREENS.flat().map((id) => [id, "skipped" as const]));
    expect(screenDone(progress(all), 4)).toBe(true);
    expect(resumeScreen(progress(all))).toBe(8);
  });
});
