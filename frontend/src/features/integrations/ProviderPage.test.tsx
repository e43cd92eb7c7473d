import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Integration } from "../../api/types";
import { fakeApi, ORG, providerPageAnswers, renderPage, resend, resendProvider, testQueryClient } from "../../test/fakeApi";
import ProviderPage from "./ProviderPage";
import { keys } from "./queries";

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

const PATCH = `PATCH /api/v1/orgs/${ORG}/integrations/resend`;
const savedAgain: Integration = { ...resend, credentials: { api_key: { configured: true, last4: "9999" } } };

// Resend with a second, non-secret field, never connected: both fields are needed.
const withRegion = {
  ...resendProvider,
  fields: [
    ...resendProvider.fields,
    { key: "region", label: "Region", kind: "text" as const, required: true, secret: false, before_consent: false, pattern: "^[a-z]{2}$", help: "Two letters, such as eu." },
  ],
};
const neverConnected: Integration = { ...resend, status: "not_connected", live: false, usable: false, needs_attention: false, credentials: {}, account_name: null };

function open(queryClient = testQueryClient()) {
  return renderPage("/settings/integrations/resend", "/settings/integrations/:provider", <ProviderPage />, queryClient);
}

function settings() {
  return within(screen.getByRole("region", { name: "Settings" }));
}

describe("the provider page's settings", () => {
  it("clears a typed secret once it is saved", async () => {
    const sent = fakeApi({ ...providerPageAnswers(), [PATCH]: { body: savedAgain } });
    const user = userEvent.setup();
    open();
    const secret = await screen.findByLabelText("API key");
    await user.type(secret, "re_brand_new_9999");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(sent.some((s) => `${s.method} ${s.path}` === PATCH)).toBe(true));
    expect(sent.find((s) => s.method === "PATCH")?.body).toEqual({ credentials: { api_key: "re_brand_new_9999" }, config: {} });
    await waitFor(() => expect(secret).toHaveValue(""));
  });

  it("shows every field's problem at once, each tied to its field", async () => {
    const sent = fakeApi(providerPageAnswers(neverConnected, withRegion));
    const user = userEvent.setup();
    open();
    await user.type(await screen.findByLabelText("Region"), "Europe");
    await user.click(settings().getByRole("button", { name: "Save" }));
    const key = screen.getByLabelText("API key");
    const region = screen.getByLabelText("Region");
    await waitFor(() => expect(key).toHaveAttribute("aria-invalid", "true"));
    expect(key).toHaveAccessibleDescription(expect.stringContaining("Fill in API key."));
    expect(region).toHaveAttribute("aria-invalid", "true");
    expect(region).toHaveAccessibleDescription(expect.stringContaining("Two letters, such as eu."));
    expect(sent.some((s) => s.method === "PATCH")).toBe(false);
  });

  it("puts a refused save's field errors under the fields the server named", async () => {
    fakeApi({
      ...providerPageAnswers(neverConnected, withRegion),
      [PATCH]: {
        status: 422,
        body: {
          type: "about:blank",
          title: "Invalid input",
          status: 422,
          code: "validation_failed",
          detail: "2 fields need attention.",
          errors: [
            { field: "credentials.api_key", message: "A Resend API key starts with re_." },
            { field: "config.region", message: "Resend has no region `zz`." },
          ],
        },
      },
    });
    const user = userEvent.setup();
    open();
    await user.type(await screen.findByLabelText("API key"), "re_0123456789");
    await user.type(screen.getByLabelText("Region"), "zz");
    await user.click(settings().getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.getByLabelText("Region")).toHaveAccessibleDescription(expect.stringContaining("Resend has no region `zz`.")));
    const key = screen.getByLabelText("API key");
    expect(key).toHaveAttribute("aria-invalid", "true");
    expect(key).toHaveAccessibleDescription(expect.stringContaining("A Resend API key starts with re_."));
    expect(key).toHaveFocus();
    // Every problem has its field: no sentence above the button repeats them.
    expect(settings().queryByRole("alert")).not.toBeInTheDocument();
  });

  it("writes the saved connection into the cache, the list's row included, and reads neither again", async () => {
    const sent = fakeApi({ ...providerPageAnswers(), [PATCH]: { body: savedAgain } });
    const queryClient = testQueryClient();
    queryClient.setQueryData(keys.integrations(ORG), { data: [resend] });
    const user = userEvent.setup();
    open(queryClient);
    await user.type(await screen.findByLabelText("API key"), "re_brand_new_9999");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.getAllByText("•••• 9999").length).toBeGreaterThan(0));
    const afterPatch = sent.slice(sent.findIndex((s) => s.method === "PATCH") + 1);
    expect(afterPatch.filter((s) => s.method === "GET" && s.path.endsWith("/integrations/resend"))).toEqual([]);
    expect(afterPatch.filter((s) => s.method === "GET" && s.path.endsWith("/integrations"))).toEqual([]);
    expect(queryClient.getQueryData<{ data: Integration[] }>(keys.integrations(ORG))?.data[0]).toEqual(savedAgain);
  });
});

describe("the provider page's picker", () => {
  // Resend pretending to point at a list, chosen from a listing two pages long.
  const withLists = {
    ...resendProvider,
    fields: [...resendProvider.fields, { key: "list_id", label: "List", kind: "text" as const, required: false, secret: false, before_consent: false }],
    resources: [{ kind: "list" as const, label: "List", setting: "list_id", required: true }],
  };
  const LISTING = `GET /api/v1/orgs/${ORG}/integrations/resend/resources/list`;
  const page = (from: number, next: string | null) => ({
    data: [0, 1].map((n) => ({ id: `L${from + n}`, name: `List ${from + n}`, detail: null })),
    next_cursor: next,
  });

  it("opens at once when the choice is required, pages on, and saves the one chosen", async () => {
    let calls = 0;
    const chosen: Integration = { ...resend, config: { list_id: "L3" }, account_name: "List 3 (L3) · Acme" };
    const sent = fakeApi({
      ...providerPageAnswers({ ...resend, needs_attention: true }, withLists),
      [LISTING]: () => ({ body: calls++ === 0 ? page(0, "next") : page(2, null) }),
      [PATCH]: { body: chosen },
    });
    const user = userEvent.setup();
    open();
    const choices = await screen.findByRole("group", { name: "Lists this connection can use" });
    expect(within(choices).getAllByRole("radio")).toHaveLength(2);
    // The list field is chosen here, not typed in the settings form.
    expect(settings().queryByLabelText("List")).toBeNull();
    await user.click(screen.getByRole("button", { name: "Show more" }));
    await waitFor(() => expect(within(choices).getAllByRole("radio")).toHaveLength(4));
    expect(screen.queryByRole("button", { name: "Show more" })).toBeNull();
    await user.click(within(choices).getByRole("radio", { name: /List 3/ }));
    await user.click(screen.getByRole("button", { name: "Use this list" }));
    await waitFor(() => expect(sent.find((s) => s.method === "PATCH")?.body).toEqual({ config: { list_id: "L3" } }));
    expect(await screen.findByText("Connected to List 3 (L3) · Acme")).toBeInTheDocument();
  });

  it("says what to do when the login reaches nothing", async () => {
    fakeApi({
      ...providerPageAnswers({ ...resend, needs_attention: true }, withLists),
      [LISTING]: { body: { data: [], next_cursor: null } },
    });
    open();
    expect(await screen.findByText(/This Resend login reaches no lists\./)).toBeInTheDocument();
  });

  // Resend pretending to point at a list, then at a segment listed per list.
  const withSegments = {
    ...withLists,
    fields: [...withLists.fields, { key: "segment_id", label: "Segment", kind: "text" as const, required: false, secret: false, before_consent: false }],
    resources: [
      { kind: "list" as const, label: "List", setting: "list_id", required: true, depends_on: null, note: null },
      { kind: "channel" as const, label: "Segment", setting: "segment_id", required: false, depends_on: "list" as const, note: null },
    ],
  };
  const SEGMENTS = `GET /api/v1/orgs/${ORG}/integrations/resend/resources/channel`;

  it("offers a dependent kind only once its parent is chosen", async () => {
    const sent = fakeApi({
      ...providerPageAnswers({ ...resend, needs_attention: true }, withSegments),
      [LISTING]: { body: page(0, null) },
    });
    open();
    expect(await screen.findByText(/choose the list first/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Choose the segment" })).toBeNull();
    expect(sent.some((s) => `${s.method} ${s.path}` === SEGMENTS)).toBe(false);
  });

  it("lists a dependent kind under its parent, and a new parent clears it", async () => {
    const chosen: Integration = { ...resend, config: { list_id: "L1", segment_id: "S1" } };
    const sent = fakeApi({
      ...providerPageAnswers(chosen, withSegments),
      [LISTING]: { body: page(0, null) },
      [SEGMENTS]: { body: { data: [{ id: "S1", name: "Segment 1", detail: null }], next_cursor: null } },
      [PATCH]: { body: { ...resend, config: { list_id: "L0" } } },
    });
    const user = userEvent.setup();
    open();
    await user.click(await screen.findByRole("button", { name: "Choose another segment" }));
    expect(await screen.findByRole("group", { name: "Segments this connection can use" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Choose another list" }));
    const lists = await screen.findByRole("group", { name: "Lists this connection can use" });
    await user.click(within(lists).getByRole("radio", { name: /List 0/ }));
    await user.click(screen.getByRole("button", { name: "Use this list" }));
    await waitFor(() => expect(sent.find((s) => s.method === "PATCH")?.body).toEqual({ config: { segment_id: null, list_id: "L0" } }));
  });
});
