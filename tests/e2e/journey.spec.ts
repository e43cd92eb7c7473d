// The brand's whole path in a real browser against the real binary with the provider sandbox on.
import type { Browser, Page } from "@playwright/test";
import { createOrg, expect, lookAndScan, PASSWORD, signUp, test, uniqueEmail } from "./fixtures";
import { SANDBOX_ADMIN_EMAIL } from "./server";

// A sandbox mode holds for every organization, so only a platform admin switches it: a second
// browser, signed in as the instance's platform admin, uses the control page.
async function sandboxMode(browser: Browser, baseURL: string, providerName: string, mode: string) {
  const context = await browser.newContext({ baseURL });
  const admin = { email: SANDBOX_ADMIN_EMAIL, password: PASSWORD };
  const signedUp = await context.request.post("/api/v1/auth/signup", { data: { ...admin, name: "Pat Platform" } });
  if (signedUp.status() === 409) expect((await context.request.post("/api/v1/auth/login", { data: admin })).ok()).toBe(true);
  const page = await context.newPage();
  await page.goto("/sandbox");
  const row = page.getByRole("row").filter({ has: page.getByRole("cell", { name: providerName, exact: true }) });
  await row.getByRole("combobox").selectOption(mode);
  const switched = page.waitForResponse((r) => r.url().includes("/sandbox/_modes/"));
  await row.getByRole("button", { name: "Set" }).click();
  expect((await switched).status()).toBe(303);
  await expect(page).toHaveURL(/\/sandbox$/);
  await page.waitForLoadState("load");
  await context.close();
}

function row(page: Page, name: string) {
  return page.getByRole("listitem", { name, exact: true });
}

test("sign up → wizard → launch → the hub's whole connection lifecycle", async ({ page, browser, baseURL }) => {
  test.setTimeout(180_000);
  await signUp(page, "Bea Brand", uniqueEmail("brand"));
  await createOrg(page, "Journey Brand");

  // 1 · basic information, with an inline problem first.
  await expect(page.getByRole("heading", { name: "Basic information" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Onboarding progress" }).getByRole("listitem")).toHaveCount(9);
  await lookAndScan(page, "wizard-basic-info");
  await page.getByLabel("Brand name").fill("Journey Brand");
  await page.getByLabel("Website").fill("not a website");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByText(/http/i).first()).toBeVisible();
  await page.getByLabel("Website").fill("https://www.journey.example");
  await page.getByLabel("Currency").fill("EUR");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Connect Shopify" })).toBeVisible();

  // A reload mid-wizard resumes where the brand left off.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Connect Shopify" })).toBeVisible();
  await expect(page.getByText("Step 2 of 9")).toBeVisible();

  // 2 · Shopify: the shop is checked inline, then consent in the same tab.
  await page.getByLabel("Shop domain").fill("Not A Shop");
  await page.getByRole("button", { name: "Connect Shopify" }).click();
  await expect(page.getByText("Shop domain must look like your-store.myshopify.com")).toBeVisible();
  await lookAndScan(page, "wizard-shopify");
  await page.getByLabel("Shop domain").fill("journey-brand.myshopify.com");
  await page.getByRole("button", { name: "Connect Shopify" }).click();
  await expect(page.getByRole("button", { name: "Approve" })).toBeVisible();
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page).toHaveURL(/\/onboarding/);
  await expect(page.getByText(/Connected to .*journey-brand\.myshopify\.com/)).toBeVisible();
  await expect(page.getByText("Shopify is connected.", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Continue" }).click();

  // 3 · domains: the DNS record to add, then on.
  await expect(page.getByRole("heading", { name: "Domains" })).toBeVisible();
  await page.getByRole("textbox", { name: "Domain names" }).fill("shop.journey.example");
  await page.getByRole("button", { name: "Save domains" }).click();
  await expect(page.getByRole("heading", { name: "Add these DNS records at your DNS provider" })).toBeVisible();
  await lookAndScan(page, "wizard-domains");
  await page.getByRole("button", { name: "Continue", exact: true }).click();

  // 4 · payments: skipped.
  await expect(page.getByRole("heading", { name: "Payments" })).toBeVisible();
  await page.getByRole("button", { name: "Skip for now" }).click();

  // 5 · integrations: optional, cards by category, skipped.
  await expect(page.getByRole("heading", { name: "Connect integrations" })).toBeVisible();
  await expect(page.getByText("All integrations are optional.")).toBeVisible();
  await expect(page.getByText("Recommended").first()).toBeVisible();
  await lookAndScan(page, "wizard-integrations");
  // A denied consent comes back to this step with its sentence on the card.
  await page.getByRole("listitem", { name: "Slack", exact: true }).getByRole("button", { name: "Connect Slack" }).click();
  await page.getByRole("button", { name: "Deny" }).click();
  await expect(page).toHaveURL(/\/onboarding$/);
  await expect(page.getByRole("heading", { name: "Connect integrations" })).toBeVisible();
  await expect(page.getByRole("listitem", { name: "Slack", exact: true }).getByRole("alert")).toContainText("was not approved");
  await page.getByRole("button", { name: "Skip for now" }).click();

  // 6 · features, 7 · import products (counted), 8 · invitations skipped, 9 · launch.
  await expect(page.getByRole("heading", { name: "Features" })).toBeVisible();
  await lookAndScan(page, "wizard-features");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Import products" })).toBeVisible();
  await page.getByRole("button", { name: "Import products now" }).click();
  await expect(page.getByText(/\d+ products? found in your store/)).toBeVisible();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Invite users" })).toBeVisible();
  await page.getByRole("button", { name: "Skip for now" }).click();
  await expect(page.getByRole("heading", { name: "Review & launch" })).toBeVisible();
  await lookAndScan(page, "wizard-review");
  await page.getByRole("button", { name: "Launch" }).click();

  // The hub: connect an API-key provider in a modal.
  await expect(page).toHaveURL(/\/settings\/integrations$/);
  await expect(page.getByRole("heading", { name: "Integrations", exact: true })).toBeVisible();
  await expect(row(page, "Shopify")).toContainText("Connected");
  await lookAndScan(page, "hub");
  await page.getByRole("searchbox", { name: "Search" }).fill("resend");
  await row(page, "Resend").getByRole("button", { name: "Connect Resend" }).click();
  const dialog = page.getByRole("dialog", { name: "Connect Resend" });
  await dialog.getByLabel("API key").fill("re_invalid_0123456789");
  await dialog.getByRole("button", { name: "Connect" }).click();
  await expect(dialog.getByRole("alert")).toContainText(/refused/i);
  await lookAndScan(page, "hub-connect-modal");
  await dialog.getByLabel("API key").fill("re_sandbox_0123456789");
  await dialog.getByRole("button", { name: "Connect" }).click();
  await expect(dialog).toBeHidden();
  await expect(row(page, "Resend")).toContainText("Connected");

  // Test, disable, enable from the row's menu.
  await row(page, "Resend").getByRole("button", { name: "Actions for Resend" }).click();
  await page.getByRole("menuitem", { name: "Test" }).click();
  await expect(page.getByText("Resend works.", { exact: true })).toBeVisible();
  await row(page, "Resend").getByRole("button", { name: "Actions for Resend" }).click();
  await page.getByRole("menuitem", { name: "Sync now" }).click();
  await expect(page.getByText("Resend is synced.", { exact: true })).toBeVisible();
  await expect(row(page, "Resend")).toContainText("Last sync: just now");
  await row(page, "Resend").getByRole("button", { name: "Actions for Resend" }).click();
  await page.getByRole("menuitem", { name: "Disable" }).click();
  await expect(row(page, "Resend")).toContainText("Disabled");
  await row(page, "Resend").getByRole("button", { name: "Actions for Resend" }).click();
  await page.getByRole("menuitem", { name: "Enable" }).click();
  await expect(row(page, "Resend")).toContainText("Connected");

  // The provider page: secret shown only as its last four, the test inline, the health strip.
  await row(page, "Resend").getByRole("link", { name: "Resend" }).click();
  await expect(page.getByRole("heading", { name: "Resend", exact: true })).toBeVisible();
  await expect(page.getByText("•••• 6789").first()).toBeVisible();
  await expect(page.getByText("re_sandbox_0123456789")).toHaveCount(0);
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByText(/^Test passed:/)).toBeVisible();
  await expect(page.getByRole("img", { name: /checks: \d+ passed/ })).toBeVisible();
  await expect(page.getByRole("table").getByRole("row")).not.toHaveCount(1);
  await lookAndScan(page, "provider-page");

  // Revoke Shopify in the sandbox: a test puts it under Needs attention as Expired.
  await sandboxMode(browser, baseURL ?? "", "Shopify", "revoked");
  await page.goto("/settings/integrations");
  await row(page, "Shopify").getByRole("button", { name: "Actions for Shopify" }).click();
  await page.getByRole("menuitem", { name: "Test" }).click();
  await expect(page.getByText("Shopify test failed.", { exact: true })).toBeVisible();
  const attention = page.getByRole("region", { name: "Needs attention" });
  await expect(attention.getByRole("listitem", { name: "Shopify" })).toContainText("Expired");
  await lookAndScan(page, "hub-needs-attention");

  // Reconnect in one click (the shop is kept), approve, back connected.
  await attention.getByRole("button", { name: "Reconnect Shopify" }).click();
  const reconnect = page.getByRole("dialog", { name: "Connect Shopify" });
  await expect(reconnect.getByLabel("Shop domain")).toHaveValue("journey-brand.myshopify.com");
  await reconnect.getByRole("button", { name: "Continue to consent" }).click();
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page).toHaveURL(/\/settings\/integrations$/);
  await expect(page.getByText("Shopify is connected.", { exact: true })).toBeVisible();
  await expect(page.getByRole("region", { name: "Needs attention" })).toHaveCount(0);
  await expect(row(page, "Shopify")).toContainText("Connected");

  // Disconnect asks first.
  await row(page, "Resend").getByRole("button", { name: "Actions for Resend" }).click();
  await page.getByRole("menuitem", { name: "Disconnect" }).click();
  const confirm = page.getByRole("dialog", { name: "Disconnect Resend?" });
  await lookAndScan(page, "hub-disconnect-confirm");
  await confirm.getByRole("button", { name: "Disconnect" }).click();
  await expect(confirm).toBeHidden();
  await expect(row(page, "Resend")).toContainText("Not connected");

  // A denied consent comes back as a sentence that says what to do.
  await page.getByRole("searchbox", { name: "Search" }).fill("slack");
  await row(page, "Slack").getByRole("button", { name: "Connect Slack" }).click();
  await page.getByRole("button", { name: "Deny" }).click();
  await expect(page).toHaveURL(/\/settings\/integrations$/);
  await expect(page.getByText("Slack did not connect.", { exact: true })).toBeVisible();
  await expect(page.getByText("The connection was not approved. Connect again and choose Approve").first()).toBeVisible();
});

test("a member sees everything and no change buttons", async ({ page, browser }) => {
  await signUp(page, "Owen Owner", uniqueEmail("owner"));
  await createOrg(page, "Member Brand");
  await page.goto("/settings/members");
  const memberEmail = uniqueEmail("member");
  await page.getByLabel("E-mail").fill(memberEmail);
  await page.getByRole("button", { name: "Send invitation" }).click();
  const link = await page.getByTestId("invitation-link").textContent();
  expect(link).toContain("/invitations/pbi_");
  await lookAndScan(page, "members");

  const other = await browser.newContext();
  const member = await other.newPage();
  await signUp(member, "Mia Member", memberEmail);
  await member.goto(link!);
  await member.getByRole("button", { name: "Accept invitation" }).click();
  await expect(member).toHaveURL(/\/settings\/integrations$/);
  await expect(member.getByRole("listitem", { name: "Shopify", exact: true })).toBeVisible();
  await expect(member.getByRole("button", { name: /^Connect / })).toHaveCount(0);
  await expect(member.getByRole("button", { name: /^Actions for / })).toHaveCount(0);
  await expect(member.getByRole("link", { name: "View" }).first()).toBeVisible();
  await member.getByRole("listitem", { name: "Shopify", exact: true }).getByRole("link", { name: "Shopify" }).click();
  await expect(member.getByRole("heading", { name: "Shopify", exact: true })).toBeVisible();
  await expect(member.getByRole("button", { name: /Test connection|Disconnect|Connect|Save/ })).toHaveCount(0);
  await member.goto("/settings/feature-flags");
  await expect(member.getByRole("switch")).toHaveCount(0);
  await other.close();
});

test("API keys are shown once; flags and readiness pages", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Pat Platform");
  await page.getByLabel("E-mail").fill("platform-admin@example.test");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await createOrg(page, "Platform Brand");
  await page.goto("/settings/api-keys");
  await page.getByLabel("Key name").fill("Warehouse");
  await page.getByRole("button", { name: "Create key" }).click();
  const shown = page.getByRole("dialog", { name: "Your new API key" });
  await expect(shown).toContainText("only time it is shown");
  await expect(shown.getByRole("button", { name: "Copy key" })).toBeVisible();
  await lookAndScan(page, "api-key-created");
  await shown.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("cell", { name: "Warehouse", exact: true })).toBeVisible();
  await lookAndScan(page, "api-keys");
  await page.getByRole("button", { name: "Revoke Warehouse" }).click();
  await page.getByRole("dialog", { name: "Revoke this key?" }).getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByRole("cell", { name: "Revoked" })).toBeVisible();

  await page.getByRole("link", { name: "Notifications" }).click();
  await expect(page.getByRole("heading", { name: "Notifications", exact: true })).toBeVisible();
  await page.getByLabel("E-mail recipients").fill("ops@example.test, owner@example.test");
  await page.getByRole("button", { name: "Save" }).click();
  // This server has no SMTP server, and the page says what to do about it, under the field.
  await expect(page.getByLabel("E-mail recipients")).toHaveAccessibleDescription(/need an SMTP server/);
  await lookAndScan(page, "notifications");

  await page.goto("/settings/feature-flags");
  await expect(page.getByRole("heading", { name: "Feature flags" })).toBeVisible();
  await expect(page.getByRole("switch").first()).toBeVisible();
  await lookAndScan(page, "feature-flags");

  await page.getByRole("link", { name: "Readiness" }).click();
  await expect(page.getByRole("heading", { name: "Service readiness" })).toBeVisible();
  await expect(page.getByText("Setup needed").first()).toBeVisible();
  await expect(page.getByText(/Missing \d+ required environment variables?/).first()).toBeVisible();
  await page.getByRole("button", { name: /^Check .+ now$/ }).first().click();
  await expect(page.locator("td p[role=status], td p[role=alert]").first()).toBeVisible();
  await lookAndScan(page, "readiness");
  await expect(page.getByRole("link", { name: "API reference" })).toHaveAttribute("href", "/api/docs/");
});

test("Meta in the wizard opens its ad account picker; the choice names the connection", async ({ page }) => {
  test.setTimeout(120_000);
  await signUp(page, "Mia Media", uniqueEmail("meta"));
  await createOrg(page, "Picker Brand");
  await page.getByLabel("Brand name").fill("Picker Brand");
  await page.getByLabel("Website").fill("https://picker.example");
  await page.getByLabel("Currency").fill("USD");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByLabel("Shop domain").fill("picker-brand.myshopify.com");
  await page.getByRole("button", { name: "Connect Shopify" }).click();
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByText("Shopify is connected.", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Domains" })).toBeVisible();
  await page.getByRole("button", { name: "Skip for now" }).click();
  await expect(page.getByRole("heading", { name: "Payments" })).toBeVisible();
  await page.getByRole("button", { name: "Skip for now" }).click();
  await expect(page.getByRole("heading", { name: "Connect integrations" })).toBeVisible();

  // Approving Meta comes back to its card with the ad account picker open.
  const meta = page.getByRole("listitem", { name: "Meta Ads", exact: true });
  await meta.getByRole("button", { name: "Connect Meta Ads" }).click();
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page).toHaveURL(/\/onboarding$/);
  const accounts = meta.getByRole("group", { name: "Ad accounts this connection can use" });
  await expect(accounts.getByRole("radio")).toHaveCount(25);
  // The pixel is listed per ad account: its picker waits for one.
  await expect(meta.getByText("choose the ad account first")).toBeVisible();
  await expect(meta.getByRole("button", { name: "Choose the pixel" })).toHaveCount(0);
  await lookAndScan(page, "wizard-ad-account-picker");

  // The second page, then a search, then the choice.
  await meta.getByRole("button", { name: "Show more" }).click();
  await expect(accounts.getByRole("radio")).toHaveCount(50);
  await meta.getByRole("searchbox", { name: "Search ad accounts" }).fill("Ads 42");
  await meta.getByRole("searchbox", { name: "Search ad accounts" }).press("Enter");
  await expect(accounts.getByRole("radio")).toHaveCount(1);
  await accounts.getByRole("radio", { name: /Acme Sandbox Ads 42/ }).check();
  await meta.getByRole("button", { name: "Use this ad account" }).click();
  await expect(meta.getByRole("status")).toContainText("Connected to Acme Sandbox Ads 42 (act_100000000000041)");


  // The hub names the choice too.
  await page.goto("/settings/integrations");
  await expect(row(page, "Meta Ads")).toContainText("act_100000000000041");

  // On Meta's page, the ad account's pixels can be chosen now.
  await page.goto("/settings/integrations/meta_ads");
  const pointed = page.getByRole("region", { name: "What Meta Ads is pointed at" });
  await pointed.getByRole("button", { name: "Choose the pixel" }).click();
  const pixels = pointed.getByRole("group", { name: "Pixels this connection can use" });
  await expect(pixels.getByRole("radio")).toHaveCount(25);
  await pixels.getByRole("radio", { name: /Acme Store Pixel 02 \(Ads 42\)/ }).check();
  await pointed.getByRole("button", { name: "Use this pixel" }).click();
  await expect(pointed.getByText("900000000041001", { exact: true })).toBeVisible();
});

test("the sandbox uninstalls the shop: Shopify needs attention without a test; privacy requests reach the admins", async ({ page, browser, baseURL }) => {
  test.setTimeout(120_000);
  await signUp(page, "Una Uninstall", uniqueEmail("uninstall"));
  await createOrg(page, "Uninstall Brand");
  const shop = `uninstall-${Date.now().toString(36)}.myshopify.com`;
  await page.goto("/settings/integrations");
  await row(page, "Shopify").getByRole("button", { name: "Connect Shopify" }).click();
  const connect = page.getByRole("dialog", { name: "Connect Shopify" });
  await connect.getByLabel("Shop domain").fill(shop);
  await connect.getByRole("button", { name: "Continue to consent" }).click();
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page).toHaveURL(/\/settings\/integrations$/);
  await expect(row(page, "Shopify")).toContainText("Connected");

  // The provider's side, in another tab: Shopify tells the app it was uninstalled.
  const context = await browser.newContext({ baseURL });
  const sandbox = await context.newPage();
  const send = async (label: string) => {
    await sandbox.goto("/sandbox");
    await sandbox.getByRole("combobox", { name: "Webhook" }).selectOption({ label });
    await sandbox.getByRole("textbox", { name: "Account" }).fill(shop);
    await sandbox.getByRole("button", { name: "Send" }).click();
    await expect(sandbox.getByRole("status")).toContainText("Plugboard answered 200");
  };
  await send("Shopify: uninstall the app from the shop");
  await lookAndScan(sandbox, "sandbox-webhook-sent");

  // No test pressed: the hub shows it within seconds.
  const attention = page.getByRole("region", { name: "Needs attention" });
  await expect(async () => {
    await page.reload();
    await expect(attention.getByRole("listitem", { name: "Shopify" })).toContainText("Expired", { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByText(`The Plugboard app was uninstalled from ${shop}`).first()).toBeVisible();

  await send("Shopify: a customer asks for their data");
  await context.close();
  await page.getByRole("link", { name: "Privacy requests" }).click();
  await expect(async () => {
    await page.reload();
    await expect(page.getByText("Customer data request")).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByRole("cell", { name: /john@example.com/ })).toBeVisible();
  await lookAndScan(page, "privacy-requests");
  await page.getByRole("button", { name: /^Mark the Customer data request/ }).click();
  await expect(page.getByText(/^Done /)).toBeVisible();
});
