import { test as base, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const SHOTS = join(__dirname, "artifacts/screenshots");
mkdirSync(SHOTS, { recursive: true });

// The server global-setup.ts started for this run. Every page a test opens (the SPA, the
// sandbox's pages, the API reference) keeps to the Content-Security-Policy the server sends:
// anything the browser blocks fails the test.
export const test = base.extend<{ keepsToThePagePolicy: void }>({
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(readFileSync(join(__dirname, ".base-url"), "utf8").trim()),
  keepsToThePagePolicy: [
    async ({ page }, use) => {
      const blocked: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" && message.text().includes("Content Security Policy")) blocked.push(message.text());
      });
      await use();
      expect(blocked, "blocked by the Content-Security-Policy").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

/** A screenshot of the page for people to look at, and an axe scan: no serious or critical WCAG 2.2 AA violation. */
export async function lookAndScan(page: Page, name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), `axe on ${name}`).toEqual([]);
}

let counter = 0;
export function uniqueEmail(who: string) {
  counter += 1;
  return `${who}-${Date.now().toString(36)}-${counter}@example.test`;
}

export const PASSWORD = "correct horse battery";

export async function signUp(page: Page, name: string, email: string) {
  await page.goto("/signup");
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  // Password hashing in a debug build on a busy 2-core machine can take a while.
  await expect(page.getByRole("heading", { name: "Create your organization" })).toBeVisible({ timeout: 30_000 });
}

export async function createOrg(page: Page, name: string) {
  await page.getByLabel("Organization name").fill(name);
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(page).toHaveURL(/\/onboarding$/);
}
