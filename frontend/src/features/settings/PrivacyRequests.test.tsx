import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PrivacyRequest } from "../../api/types";
import { fakeApi, ORG, renderPage } from "../../test/fakeApi";
import PrivacyRequests from "./PrivacyRequests";

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

const open: PrivacyRequest = {
  id: "req-1",
  connection_id: "conn-1",
  provider: "shopify",
  kind: "customer_data_request",
  details: { customer: { id: 191167, email: "john@example.com" }, orders_requested: [299938], orders_to_redact: null, data_request: { id: 9999 } },
  received_at: "2026-12-06T09:31:12Z",
  due_at: "2027-01-05T09:31:12Z",
  done_at: null,
  done_by: null,
};

describe("privacy requests", () => {
  it("shows who a request is about and marks it done in place", async () => {
    const sent = fakeApi({
      [`GET /api/v1/orgs/${ORG}/privacy-requests`]: { body: { data: [open] } },
      [`POST /api/v1/orgs/${ORG}/privacy-requests/req-1/done`]: { body: { ...open, done_at: "2026-12-07T10:00:00Z", done_by: "user-1" } },
    });
    const user = userEvent.setup();
    renderPage("/settings/privacy", "/settings/privacy", <PrivacyRequests />);
    const row = (await screen.findByText("Customer data request")).closest("tr") as HTMLElement;
    expect(row).toHaveTextContent("john@example.com (customer 191167); orders 299938");
    await user.click(within(row).getByRole("button", { name: /Mark the Customer data request .* done/ }));
    await waitFor(() => expect(row).toHaveTextContent("Done"));
    expect(sent.filter((s) => s.method === "GET" && s.path === `/api/v1/orgs/${ORG}/privacy-requests`)).toHaveLength(1);
  });
});
