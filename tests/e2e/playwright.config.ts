import { defineConfig } from "@playwright/test";
import { execSync } from "node:child_process";

// Debian's Chromium, never a downloaded browser.
const chromium = process.env.CHROMIUM_PATH ?? execSync("command -v chromium || command -v chromium-browser").toString().trim();

export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.ts",
  globalSetup: "./global-setup.ts",
  outputDir: "./artifacts/results",
  fullyParallel: false,
  workers: 1,
  // CI shares a 2-core machine with the background worker and the suites before it; one retry
  // absorbs a slow moment, and a journey that fails twice is a real failure.
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL: process.env.E2E_BASE_URL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
});
