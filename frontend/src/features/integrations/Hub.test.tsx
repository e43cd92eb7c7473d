import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Integration } from "../../api/types";
import { fakeApi, ORG, providerPageAnswers, renderPage, resend } from "../../test/fakeApi";
import Hub from "./Hub";

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

const disconnected: Integration = { ...resend, status: "not_connected", enabled: false, live: false, usable: false, needs_attention: false, credentials: {}, account_name: null };

describe("the hub", () => {
  it("asks before disconnecting, then shows the answer in the row without reading the list again", async () => {
    const sent = fakeApi({
      ...providerPageAnswers(),
      [`POST /api/v1/orgs/${ORG}/integrations/resend/disconnect`]: { body: disconnected },
    });
    const user = userEvent.setup();
    renderPage("/settings/integrations", "/settings/integrations", <Hub />);
    const row = await screen.findByRole("listitem", { name: "Resend" });
    await user.click(within(row).getByRole("button", { name: "Actions for Resend" }));
    await user.click(await screen.findByRole("menuitem", { name: "Disconnect" }));
    const dialog = await screen.findByRole("dialog", { name: "Disconnect Resend?" });
    await user.click(within(dialog).getByRole("button", { name: "Disconnect" }));
    await waitFor(() => expect(screen.getByRole("listitem", { name: "Resend" })).toHaveTextContent("Not connected"));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    // The dialog left with its row; the page still takes clicks.
    expect(document.body.style.pointerEvents).not.toBe("none");
    const lists = sent.filter((s) => s.method === "GET" && s.path === `/api/v1/orgs/${ORG}/integrations`);
    expect(lists).toHaveLength(1);
  });
});
