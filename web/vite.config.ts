import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The API (Litestar) serves the built app at "/" with an SPA fallback to index.html and the
// API under /api/v1 on the same origin, so every request in the app is a relative URL. In
// `npm run dev` the same paths are proxied to a locally running API.
const API_TARGET = process.env.K2Q_API_URL ?? "http://127.0.0.1:8000";
const proxied = ["/api", "/health", "/ready"];
const proxy = Object.fromEntries(proxied.map((path) => [path, { target: API_TARGET, ws: path === "/api" }]));

export default defineConfig({
  base: "/",
  plugins: [react()],
  server: {
    port: 5173,
    proxy,
  },
  preview: { proxy },
  build: {
    outDir: "dist",
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    setupFiles: ["src/testSetup.ts"],
  },
});
