import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { components } from "../../api/schema";
import { fakeApi, ORG, renderPage } from "../../test/fakeApi";
import Notifications from "./Notifications";

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

type Settings = components["schemas"]["NotificationSettingsOut"];

const settings: Settings = {
  webhook_url: null,
  webhook_secret_configured: false,
  webhook_disabled: null,
  slack_webhook_configured: false,
  email_recipients: [],
  slack_app_notices: [],
  slack_app_channel: null,
  updated_at: null,
};

const answers = (current: Settings) => ({
  [`GET /api/v1/orgs/${ORG}/notification-settings`]: { body: current },
  [`GET /api/v1/orgs/${ORG}/notifications`]: { body: { data: [], next_cursor: null } },
  [`PUT /api/v1/orgs/${ORG}/notification-settings`]: (body: unknown) => ({ body: { ...current, ...(body as object) } }),
});

describe("notifications through the Slack app", () => {
  it("offers nothing to post until Slack is connected with a channel, and says where to choose it", async () => {
    fakeApi(answers(settings));
    renderPage("/settings/notifications", "/settings/notifications", <Notifications />);
    const broken = await screen.findByRole("checkbox", { name: "A connection needs attention" });
    expect(broken).toBeDisabled();
    expect(screen.getByText(/Connect Slack and choose its channel/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Slack's page" })).toHaveAttribute("href", "/settings/integrations/slack");
  });

  it("still saves the other channels while Slack has no channel, leaving the saved notices alone", async () => {
    const sent = fakeApi(answers({ ...settings, slack_app_notices: ["broken"] }));
    const user = userEvent.setup();
    renderPage("/settings/notifications", "/settings/notifications", <Notifications />);
    await user.type(await screen.findByLabelText("E-mail recipients"), "ops@acme.example");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(sent.some((s) => s.method === "PUT")).toBe(true));
    const put = sent.find((s) => s.method === "PUT");
    expect((put?.body as { email_recipients: string[] }).email_recipients).toEqual(["ops@acme.example"]);
    expect(put?.body).not.toHaveProperty("slack_app_notices");
  });

  it("saves the notices chosen for the channel the connection points at", async () => {
    const sent = fakeApi(answers({ ...settings, slack_app_channel: "C0SANDBOX03" }));
    const user = userEvent.setup();
    renderPage("/settings/notifications", "/settings/notifications", <Notifications />);
    expect(await screen.findByText("C0SANDBOX03")).toBeInTheDocument();
    await user.click(screen.getByRole("checkbox", { name: "A connection needs attention" }));
    await user.click(screen.getByRole("checkbox", { name: "A privacy request to answer" }));
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(sent.some((s) => s.method === "PUT")).toBe(true));
    const put = sent.find((s) => s.method === "PUT");
    expect((put?.body as { slack_app_notices: string[] }).slack_app_notices).toEqual(["broken", "privacy_request"]);
  });
});
