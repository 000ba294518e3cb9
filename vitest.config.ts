import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["{core,sim,runtime-test,runtime-node,jepsen,app,bench,scripts,console}/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks"
  }
})
