// Starts the real `plugboard` binary on SQLite in a temporary data dir, sandbox on, on a free port.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(__dirname, "../..");
export const ADMIN_EMAIL = "platform-admin@example.test";
/** A second platform admin, who switches the sandbox's modes in the journey. */
export const SANDBOX_ADMIN_EMAIL = "sandbox-admin@example.test";

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

export interface Running {
  baseURL: string;
  stop: () => Promise<void>;
}

export async function startServer(): Promise<Running> {
  const port = await freePort();
  const folder = mkdtempSync(join(tmpdir(), "plugboard-e2e-"));
  const baseURL = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PLUGBOARD_") && k !== "DATABASE_URL") env[k] = v;
  Object.assign(env, {
    PLUGBOARD_BIND: `127.0.0.1:${port}`,
    PLUGBOARD_PUBLIC_URL: baseURL,
    PLUGBOARD_DATA_DIR: join(folder, "data"),
    PLUGBOARD_SANDBOX: "true",
    PLUGBOARD_WEB_DIR: join(ROOT, "frontend/dist"),
    PLUGBOARD_ADMIN_EMAILS: `${ADMIN_EMAIL},${SANDBOX_ADMIN_EMAIL}`,
    // A Microsoft app of the operator's own, played by the sandbox's Entra like every provider.
    MICROSOFT_CLIENT_ID: "e2e-entra-app",
    MICROSOFT_CLIENT_SECRET: "e2e-entra-secret",
    MICROSOFT_TENANT_ID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    RUST_LOG: "warn",
  });
  const log = openSync(join(folder, "server.log"), "w");
  const binary = process.env.PLUGBOARD_BIN ?? join(ROOT, "target/debug/plugboard");
  const child: ChildProcess = spawn(binary, ["serve"], { cwd: folder, env, stdio: ["ignore", log, log] });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`plugboard exited early; see ${join(folder, "server.log")}`);
    try {
      const res = await fetch(`${baseURL}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseURL,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      if (!process.env.KEEP_E2E_DATA) rmSync(folder, { recursive: true, force: true });
    },
  };
}
