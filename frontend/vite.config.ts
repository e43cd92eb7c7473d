import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
  server: {
    // `npm run dev` talks to a `plugboard serve` on the default port.
    proxy: { "/api": "http://127.0.0.1:8080", "/sandbox": "http://127.0.0.1:8080", "/healthz": "http://127.0.0.1:8080" },
  },
});
