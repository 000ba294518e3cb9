#!/usr/bin/env node
// Launches the cairn CLI on Node 24 (the project's pinned `node` package) even
// when the node on PATH is older: Node 24 runs the TypeScript sources directly.
//
// On an older node this process stays as the launcher of the real one: it
// forwards SIGINT, SIGTERM and SIGHUP to it and ends the way it ended (its
// exit code, or the same signal: a shell shows 128+signal). If the launcher
// itself is killed outright (SIGKILL), the real node notices and shuts down
// gracefully (app/src/cli/launcher-watch.ts).
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { constants } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const main = join(root, "app", "src", "cli", "main.ts")
const major = Number(process.versions.node.split(".")[0])

if (major >= 24) {
  process.removeAllListeners("warning")
  process.on("warning", (warning) => {
    if (warning.name !== "ExperimentalWarning") process.stderr.write(`${warning.stack ?? warning.message}\n`)
  })
  const { watchLauncher } = await import(join(root, "app", "src", "cli", "launcher-watch.ts"))
  watchLauncher()
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
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, CAIRN_LAUNCHER_PID: String(process.pid) }
  })
  // The child is in our process group, so a Ctrl-C reaches it twice (from the
  // terminal and from here): the CLI acts on the first signal only.
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"]
  for (const signal of signals) process.on(signal, forward)
  child.on("error", (error) => {
    process.stderr.write(`cairn: cannot start ${pinned}: ${error.message}\n`)
    process.exit(1)
  })
  child.on("exit", (code, signal) => {
    for (const s of signals) process.removeListener(s, forward)
    if (signal === null) process.exit(code ?? 1)
    process.exitCode = 128 + (constants.signals[signal] ?? 0) // should the signal not end us
    process.kill(process.pid, signal)
  })
}
