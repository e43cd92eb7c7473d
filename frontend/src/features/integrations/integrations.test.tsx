import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { EventItem, Field, Integration } from "../../api/types";
import { oauthFailureSentence } from "../../copy";
import { relativeTime } from "../../time";
import { groupByCategory } from "./catalog";
import { fieldsSchema, initialValues, toChange } from "./fields";
import { HealthStrip } from "./HealthStrip";

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
    live: false,
    usable: false,
    needs_attention: false,
    credentials: {},
    config: {},
    ...over,
  }) as Integration;

/** Every field's problem, by key, as the form shows them. */
function problems(fields: Field[], values: Record<string, string>, of = integration(), keepsSaved = false) {
  const result = fieldsSchema(fields, of, keepsSaved).safeParse(values);
  return result.success ? {} : Object.fromEntries(result.error.issues.map((i) => [i.path.join("."), i.message]));
}

const shop = field({
  key: "shop",
  label: "Shop domain",
  secret: false,
  pattern: "^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$",
  help: "Use your-store.myshopify.com.",
});

describe("a provider's fields as a form", () => {
  it("reports every field's problem at once", () => {
    expect(problems([field({}), shop], { api_key: "", shop: "Not A Shop" })).toEqual({
      api_key: "Fill in API key.",
      shop: "Use your-store.myshopify.com.",
    });
    expect(problems([field({}), shop], { api_key: "re_123456789", shop: "acme.myshopify.com" })).toEqual({});
  });

  it("needs no secret that is already saved, nor anything a live connection keeps", () => {
    const saved = integration({ credentials: { api_key: { configured: true, last4: "6789" } } });
    expect(problems([field({})], { api_key: "" }, saved)).toEqual({});
    expect(problems([shop], { shop: "" }, integration(), true)).toEqual({});
  });

  it("sends secrets as credentials and the rest as config, leaving out what is empty", () => {
    const region = field({ key: "region", label: "Region", secret: false, required: false });
    expect(toChange([field({}), region], { api_key: "re_123456789", region: "eu" })).toEqual({
      credentials: { api_key: "re_123456789" },
      config: { region: "eu" },
    });
    expect(toChange([field({}), region], { api_key: "", region: "" })).toEqual({ credentials: {}, config: {} });
  });

  it("starts from the saved settings and never from a secret", () => {
    const environment = field({ key: "environment", label: "Environment", kind: "select", secret: false, options: ["sandbox", "production"] });
    const saved = integration({ config: { shop: "acme.myshopify.com" }, credentials: { api_key: { configured: true, last4: "6789" } } });
    expect(initialValues([field({}), shop, environment], saved)).toEqual({ api_key: "", shop: "acme.myshopify.com", environment: "sandbox" });
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
