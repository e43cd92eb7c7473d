import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Identity } from "../../api/types";
import { fakeApi, renderPage } from "../../test/fakeApi";
import Account from "./Account";

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

const microsoft: Identity = {
  id: "id-1",
  provider: "microsoft",
  tenant_id: "9188040d-6c67-4c5b-b112-36a304b66dad",
  email: "ann@acme.example",
  created_at: "2026-12-06T09:30:00Z",
  last_used_at: "2026-12-06T09:30:00Z",
};

const providers = { body: { providers: [{ id: "microsoft", name: "Microsoft", start_url: "/api/v1/auth/sso/microsoft/start" }] } };

describe("account page", () => {
  it("lists linked accounts and says why the last way in stays", async () => {
    const sent = fakeApi({
      "GET /api/v1/me/identities": { body: { data: [microsoft] } },
      "GET /api/v1/auth/sso": providers,
      "DELETE /api/v1/me/identities/id-1": {
        status: 409,
        body: { type: "about:blank", title: "Conflict", status: 409, code: "last_sign_in_method", detail: "This is your only way to sign in: link another account first." },
      },
    });
    const user = userEvent.setup();
    renderPage("/account", "/account", <Account />);
    expect(await screen.findByText("ann@acme.example")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Link a Microsoft account" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Unlink Microsoft (ann@acme.example)" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("This is your only way to sign in");
    expect(sent.some((s) => s.method === "DELETE" && s.path === "/api/v1/me/identities/id-1")).toBe(true);
  });

  it("turns a sign-in failure code into a sentence", async () => {
    fakeApi({ "GET /api/v1/me/identities": { body: { data: [] } }, "GET /api/v1/auth/sso": providers });
    renderPage("/account?error=sso_identity_taken", "/account", <Account />);
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("already linked to another Plugboard user"));
    expect(await screen.findByText(/No Microsoft or Google account is linked/)).toBeInTheDocument();
  });
});
