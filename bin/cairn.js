#!/usr/bin/env node
// Launches the cairn CLI on Node 24 (the project's pinned `node` package) even
// when the node on PATH is older: Node 24 runs the TypeScript sources directly.
//
// On an older node this process stays as the launcher of the real one: it
// forwards SIGINT, SIGTERM and SIGHUP to it and ends the way it ended (its
// exit code, or the same signal: a shell shows 128+signal). If the launcher
// itself is killed outright (SIGKILL), the real node notices and shuts down
// gracefully (app/src/cli/launcher-watch.ts).
//
// Memory (docs/server.md, "Memory"): on Node 24 it turns on Node's compile
// cache, so that a later start reuses the stripped TypeScript and V8's code
// instead of loading the TypeScript stripper (about 20 MiB that stays
// resident) and compiling again; and `cairn server` re-executes itself
// (execve: same pid, nothing added) with serverNodeFlags unless the operator
// gave their own (in node's arguments or NODE_OPTIONS) or set
// CAIRN_NODE_FLAGS=none.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as nodeModule from "node:module"
import { constants } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const main = join(root, "app", "src", "cli", "main.ts")
const major = Number(process.versions.node.split(".")[0])

// V8's young generation grows to 2 × 32 MiB semi-spaces under the allocation burst of a start and stays there,
// resident, on an idle node (64 of its ~100 MiB heap); 8 MiB semi-spaces hold a server's short-lived garbage (request
// objects: the bodies are Buffers, outside the V8 heap) at about 20 MiB less RSS.
const serverNodeFlags = ["--max-semi-space-size=8"]

/** Re-executes this process with serverNodeFlags for `cairn server`, unless flags were chosen otherwise. */
const execWithServerFlags = () => {
  if (process.argv[2] !== "server" || process.env.CAIRN_NODE_FLAGS === "none" || typeof process.execve !== "function") return
  const chosen = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ")
  if (serverNodeFlags.some((flag) => chosen.includes(flag.split("=")[0]))) return
  try {
    process.execve(process.execPath, [process.execPath, ...serverNodeFlags, ...process.execArgv, ...process.argv.slice(1)], process.env)
  } catch (error) {
    // Not fatal: the server runs, with V8's default young generation (more memory).
    process.stderr.write(`cairn: cannot re-execute with ${serverNodeFlags.join(" ")} (${error.message}); running without them\n`)
  }
}

if (major >= 24) {
  process.removeAllListeners("warning")
  process.on("warning", (warning) => {
    if (warning.name !== "ExperimentalWarning") process.stderr.write(`${warning.stack ?? warning.message}\n`)
  })
  execWithServerFlags()
  nodeModule.enableCompileCache() // (not imported by name: Node 20 has no such export, and this file must load there)
  const { watchLauncher } = await import(join(root, "app", "src", "cli", "launcher-watch.ts"))
  watchLauncher()
  await import(main)
} else {
  let pinned
  try {
    pinned = join(dirname(nodeModule.createRequire(join(root, "package.json")).resolve("node/package.json")), "bin", "node")
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
