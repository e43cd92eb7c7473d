import { createOrg, expect, lookAndScan, signUp, test, uniqueEmail } from "./fixtures";

test("sign up, create an organization, change the password, log out and back in with it", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Log in to Plugboard" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Provider sandbox" })).toContainText("sandbox is on");
  await lookAndScan(page, "login");
  await page.getByRole("link", { name: "Create an account" }).click();
  await lookAndScan(page, "signup");
  const email = uniqueEmail("owner");
  await signUp(page, "Olive Owner", email);
  await lookAndScan(page, "new-org");
  await createOrg(page, "Smoke Brand");
  await expect(page.getByRole("heading", { name: "Basic information" })).toBeVisible();

  // A second organization, then back to the first through the switcher.
  const switcher = page.getByRole("combobox", { name: "Organization" });
  await switcher.selectOption({ label: "+ New organization…" });
  await expect(page.getByRole("heading", { name: "New organization" })).toBeVisible();
  await page.getByLabel("Organization name").fill("Second Brand");
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(switcher).toHaveValue(/.+/);
  await expect(switcher.locator("option:checked")).toHaveText("Second Brand (owner)");
  await switcher.selectOption({ label: "Smoke Brand (owner)" });
  await page.goto("/settings/integrations");
  await expect(switcher.locator("option:checked")).toHaveText("Smoke Brand (owner)");
  // The account page changes the password; this browser stays signed in.
  await page.goto("/account");
  await page.getByLabel("Current password").fill("correct horse battery");
  await page.getByLabel("New password").fill("a longer horse battery staple");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("status")).toContainText("Your password is changed");
  await lookAndScan(page, "account-password");
  await page.goto("/onboarding");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in to Plugboard" })).toBeVisible();
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("a longer horse battery staple");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Basic information" })).toBeVisible();
});

test("the API reference renders under the page policy", async ({ page }) => {
  await page.goto("/api/docs/");
  await expect(page.locator(".swagger-ui .info .title")).toContainText("Plugboard");
  await expect(page.getByText("/api/v1/orgs/{org_id}/integrations").first()).toBeVisible();
});
