#!/usr/bin/env node
// Launches the cairn CLI on Node 24 (the project's pinned `node` package) even
// when the node on PATH is older: Node 24 runs the TypeScript sources directly.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const main = join(root, "runtime-node", "src", "cli", "main.ts")
const major = Number(process.versions.node.split(".")[0])

if (major >= 24) {
  process.removeAllListeners("warning")
  process.on("warning", (warning) => {
    if (warning.name !== "ExperimentalWarning") process.stderr.write(`${warning.stack ?? warning.message}\n`)
  })
  await import(main)
} else {
  let pinned
  try {
    pinned = join(dirname(createRequire(join(root, "package.json")).resolve("node/package.json")), "bin", "node")
  } catch {
    pinned = undefined
  }
  if (pinned === undefined || !existsSync(pinned)) {
    process.stderr.write(`cairn needs Node 24 (found ${process.version}). Run \`npm ci\` in ${root} to install the pinned Node, then try again.\n`)
    process.exit(1)
  }
  const child = spawnSync(pinned, [main, ...process.argv.slice(2)], { stdio: "inherit" })
  process.exit(child.status ?? 1)
}
