// runtime-node's install script: builds the io_uring addon (native/io_uring.c,
// through node-gyp) when this machine can, and otherwise says so in one line
// and succeeds, so `npm ci` needs only Node and npm. Without the addon the node
// uses the libuv disk (src/disk/io-uring-disk.ts falls back, and logs it at
// start). `npm run build:native -w runtime-node` builds it later.
// CAIRN_REQUIRE_NATIVE=1 makes a missing or failed build an error (for CI
// machines that must test the io_uring disk).
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { delimiter, join } from "node:path"

const required = process.env.CAIRN_REQUIRE_NATIVE === "1"
const onPath = (name) => (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, name)))

const skip = (why) => {
  const text = `cairn: io_uring addon not built (${why}); the node will use the libuv disk. ` +
    "To build it: install a C compiler, make and python3 (Debian: apt-get install build-essential python3), then `npm run build:native -w runtime-node`."
  if (required) {
    process.stderr.write(`${text}\nCAIRN_REQUIRE_NATIVE=1: failing the install.\n`)
    process.exit(1)
  }
  process.stdout.write(`${text}\n`)
  process.exit(0)
}

if (process.platform !== "linux") skip(`io_uring is Linux-only, this is ${process.platform}`)
const missing = [
  process.env.CC !== undefined || ["cc", "gcc", "clang"].some(onPath) ? undefined : "no C compiler (cc, gcc or clang)",
  onPath("make") ? undefined : "no make",
  process.env.PYTHON !== undefined || onPath("python3") ? undefined : "no python3 for node-gyp"
].filter((m) => m !== undefined)
if (missing.length > 0) skip(missing.join(", "))

const build = spawnSync("node-gyp", ["rebuild"], { stdio: "inherit" })
if (build.error !== undefined) skip(`cannot run node-gyp: ${build.error.message}`)
if (build.status !== 0) skip(`node-gyp rebuild failed with ${build.signal ?? `exit code ${build.status}`}, see above`)
