import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Identity } from "../../api/types";
import { fakeApi, me, renderPage } from "../../test/fakeApi";
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

  it("changes the password, placing a wrong current one under its field", async () => {
    let tries = 0;
    const sent = fakeApi({
      "GET /api/v1/me/identities": { body: { data: [] } },
      "GET /api/v1/auth/sso": providers,
      "PUT /api/v1/me/password": () =>
        ++tries === 1
          ? {
              status: 422,
              body: {
                type: "about:blank",
                title: "Unprocessable",
                status: 422,
                code: "validation_failed",
                detail: "Check the fields.",
                errors: [{ field: "current_password", message: "That is not your current password." }],
              },
            }
          : { body: { access_token: "new-token", token_type: "Bearer", expires_in: 900 } },
    });
    const user = userEvent.setup();
    renderPage("/account", "/account", <Account />);
    const current = await screen.findByLabelText("Current password");
    await user.type(current, "not it");
    await user.type(screen.getByLabelText("New password"), "a longer horse battery");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByText("That is not your current password.")).toBeInTheDocument();
    await user.clear(current);
    await user.type(current, "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Your password is changed");
    const changes = sent.filter((s) => s.method === "PUT" && s.path === "/api/v1/me/password");
    expect(changes.at(-1)?.body).toEqual({ current_password: "correct horse battery", new_password: "a longer horse battery" });
  });

  it("says a new password is too short before sending it", async () => {
    const sent = fakeApi({ "GET /api/v1/me/identities": { body: { data: [] } }, "GET /api/v1/auth/sso": providers });
    const user = userEvent.setup();
    renderPage("/account", "/account", <Account />);
    await user.type(await screen.findByLabelText("Current password"), "correct horse battery");
    const newPassword = screen.getByLabelText("New password");
    await user.type(newPassword, "short");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(newPassword).toHaveAccessibleDescription(expect.stringContaining("Use a password of 10 to 200 characters.")));
    expect(sent.some((s) => s.method === "PUT")).toBe(false);
  });

  it("offers no password change to an account without a password", async () => {
    fakeApi({
      "GET /api/v1/me": { body: { ...me, has_password: false } },
      "GET /api/v1/me/identities": { body: { data: [microsoft] } },
      "GET /api/v1/auth/sso": providers,
    });
    renderPage("/account", "/account", <Account />);
    expect(await screen.findByText(/This account has no password/)).toBeInTheDocument();
    expect(screen.queryByLabelText("Current password")).not.toBeInTheDocument();
  });
});
