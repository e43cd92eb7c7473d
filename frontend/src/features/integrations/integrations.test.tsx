import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { EventItem, Field, Integration } from "../../api/types";
import { oauthFailureSentence } from "../../copy";
import { relativeTime } from "../../time";
import { readFields } from "./fields";
import { HealthStrip } from "./HealthStrip";
import { groupByCategory } from "./catalog";

const field = (over: Partial<Field>): Field => ({
  key: "api_key",
  label: "API key",
  kind: "text",
  required: true,
  secret: true,
  before_consent: false,
  ...over,
});

const integration = (over: Partial<Integration> = {}): Integration =>
  ({
    provider: "resend",
    name: "Resend",
    category: "communication",
    category_label: "Communication",
    status: "not_connected",
    credentials: {},
    config: {},
    ...over,
  }) as Integration;

function form(values: Record<string, string>) {
  const data = new FormData();
  for (const [k, v] of Object.entries(values)) data.set(k, v);
  return data;
}

describe("readFields", () => {
  it("puts secrets in credentials and the rest in config", () => {
    const fields = [field({}), field({ key: "region", label: "Region", secret: false, required: false })];
    const read = readFields(fields, form({ api_key: "re_123456789", region: "eu" }), integration());
    expect(read).toEqual({ credentials: { api_key: "re_123456789" }, config: { region: "eu" }, problem: null });
  });

  it("asks for a missing required field, unless a secret is already saved", () => {
    expect(readFields([field({})], form({}), integration()).problem).toBe("Fill in API key.");
    const saved = integration({ credentials: { api_key: { configured: true, last4: "6789" } } });
    expect(readFields([field({})], form({}), saved).problem).toBeNull();
  });

  it("checks the provider's pattern and says what it should look like", () => {
    const shop = field({ key: "shop", label: "Shop domain", secret: false, pattern: "^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$", help: "Use your-store.myshopify.com." });
    expect(readFields([shop], form({ shop: "Not A Shop" }), integration()).problem).toBe("Use your-store.myshopify.com.");
    expect(readFields([shop], form({ shop: "acme.myshopify.com" }), integration()).problem).toBeNull();
  });
});

describe("HealthStrip", () => {
  const event = (id: string, success: boolean, action: EventItem["action"] = "test"): EventItem => ({
    id,
    action,
    success,
    actor_type: "user",
    created_at: "2026-12-01T10:00:00Z",
    message: success ? "Works." : "Refused.",
    provider: "resend",
  });

  it("draws one mark per check and names the count for screen readers", () => {
    render(<HealthStrip events={[event("1", true), event("2", false), event("3", true, "disable")]} />);
    expect(screen.getByRole("img", { name: "Last 2 checks: 1 passed, 1 failed." })).toBeInTheDocument();
  });

  it("says so when there is no check yet", () => {
    render(<HealthStrip events={[]} />);
    expect(screen.getByText(/No checks yet/)).toBeInTheDocument();
  });
});

describe("hub helpers", () => {
  it("groups by category in the order the server lists them", () => {
    const groups = groupByCategory([
      integration({ provider: "a", category: "commerce" }),
      integration({ provider: "b", category: "payments" }),
      integration({ provider: "c", category: "commerce" }),
    ]);
    expect(groups.map(([k, items]) => [k, items.map((i) => i.provider)])).toEqual([
      ["commerce", ["a", "c"]],
      ["payments", ["b"]],
    ]);
  });

  it("turns a callback code into a sentence that says what to do", () => {
    expect(oauthFailureSentence("access_denied")).toMatch(/choose Approve/);
    expect(oauthFailureSentence("browser_mismatch")).toMatch(/different browser/);
    expect(oauthFailureSentence("something_new")).toMatch(/Try connecting again/);
  });

  it("writes times relative to now", () => {
    const now = new Date("2026-12-01T12:00:00Z");
    expect(relativeTime("2026-12-01T11:55:00Z", now)).toBe("5 minutes ago");
    expect(relativeTime("2026-12-01T11:59:50Z", now)).toBe("just now");
    expect(relativeTime("2026-12-03T12:00:00Z", now)).toBe("in 2 days");
  });
});
