import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "./server";

export default async function globalSetup() {
  const server = await startServer();
  process.env.E2E_BASE_URL = server.baseURL;
  writeFileSync(join(__dirname, ".base-url"), server.baseURL);
  return async () => server.stop();
}
