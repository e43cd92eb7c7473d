// Signing in with Microsoft through the sandbox's Entra, in a real browser against the binary.
import { createOrg, expect, lookAndScan, test } from "./fixtures";

test("Sign in with Microsoft as the platform admin lands signed in, and readiness calls Microsoft sign-in ready", async ({ page }) => {
  await page.goto("/login?next=/platform/readiness");
  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Plugboard with Microsoft" })).toBeVisible();
  await lookAndScan(page, "sandbox-microsoft-sign-in");
  await page.getByRole("button", { name: "The platform admin (same tenant)" }).click();

  // A first sign-in without an organization creates one first; otherwise straight to readiness.
  const newOrg = page.getByRole("heading", { name: "Create your organization" });
  const readiness = page.getByRole("heading", { name: "Service readiness" });
  await expect(newOrg.or(readiness)).toBeVisible({ timeout: 30_000 });
  if (await newOrg.isVisible()) {
    await createOrg(page, "Single Sign-On Brand");
    await page.getByRole("link", { name: "Readiness" }).click();
  }
  await expect(readiness).toBeVisible();
  const item = page.getByRole("row").filter({ hasText: "Microsoft 365 / Entra admin sign-in" });
  await expect(item.getByRole("cell", { name: "Ready", exact: true })).toBeVisible();
  await expect(item).toContainText("/api/v1/auth/sso/microsoft/callback");

  // The account page lists the linked Microsoft account.
  await page.goto("/account");
  await expect(page.getByRole("heading", { name: "Linked sign-in accounts" })).toBeVisible();
  await expect(page.getByRole("listitem").filter({ hasText: "Microsoft" })).toBeVisible();

  // Linking Google too, in the same tab, comes back to the account page.
  await page.getByRole("button", { name: "Link a Google account" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Plugboard with Google" })).toBeVisible();
  await page.getByRole("button", { name: /^Nora/ }).click();
  await expect(page).toHaveURL(/\/account\?linked=google$/);
  await expect(page.getByText("Your Google account is linked")).toBeVisible();
  await expect(page.getByRole("button", { name: "Unlink Google (nora@brand.example)" })).toBeVisible();
  await lookAndScan(page, "account");
});

test("someone from another tenant with the admin's address is refused, with a sentence", async ({ page }) => {
  await page.goto("/login");
  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await page.getByRole("button", { name: /another tenant/ }).click();
  await expect(page).toHaveURL(/\/login\?error=sso_email_unverified$/);
  await expect(page.getByRole("alert")).toContainText("Log in with your password, then link this account from your account page.");
  await lookAndScan(page, "login-sso-refused");
  await page.goto("/platform/readiness");
  await expect(page).toHaveURL(/\/login\?next=/);
});
