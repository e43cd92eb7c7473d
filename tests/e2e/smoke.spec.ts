import { createOrg, expect, lookAndScan, signUp, test, uniqueEmail } from "./fixtures";

test("sign up, create an organization, log out and back in", async ({ page }) => {
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
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in to Plugboard" })).toBeVisible();
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Basic information" })).toBeVisible();
});
