/**
 * The data directory's guarantees, seen from outside as `cairn server`
 * processes: a second server on a held directory exits 2 naming the
 * holder's pid and writes nothing, while the first keeps serving; a
 * directory that cannot hold data (inside /proc, a file, no permission)
 * ends the process at once with one line and exit 2 instead of spinning.
 */
import { type ChildProcess, spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { apiHeaders } from "./api-credentials.ts"
import { cliMain, exited, spawnCairn } from "./local-cluster.ts"

const dirs: Array<string> = []
const children: Array<ChildProcess> = []
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  await Promise.all(children.map(exited))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "cairn-datadir-cli-"))
  dirs.push(d)
  return d
}
const listenAnywhere = ["--api-listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0"]
const noSecrets = { CAIRN_ACCESS_KEY: undefined, CAIRN_SECRET_KEY: undefined, CAIRN_CLUSTER_SECRET: undefined }

/** Runs `cairn server` to its exit; returns its exit code and what it printed on stderr (log lines aside). */
const runToExit = async (args: ReadonlyArray<string>, env: Record<string, string | undefined> = noSecrets) => {
  const stderr: Array<string> = []
  const child = spawnCairn(["server", ...args], env, (line, stream) => {
    if (stream === "stderr" && !line.startsWith("{")) stderr.push(line)
  })
  children.push(child)
  await exited(child)
  return { code: child.exitCode, signal: child.signalCode, stderr }
}

/** Names, sizes and modification times of the directory and its entries: any write shows here. */
const snapshot = (dir: string) => ({
  dir: statSync(dir).mtimeMs,
  entries: readdirSync(dir).sort().map((name) => {
    const st = statSync(join(dir, name))
    return [name, st.size, st.mtimeMs]
  })
})

const admin = { accessKey: "CAIRNLOCKTEST01", secretKey: "lock-test-secret-0123456789" }

describe("cairn server on a data directory another server holds", () => {
  it("exits 2 naming the holder's pid, writes nothing, and the first server keeps serving", async () => {
    const dataDir = fresh()
    // The first server gets its secrets from the environment, so a second that wrote before locking would leave generated files behind.
    let api = ""
    const first = spawnCairn(["server", "--data-dir", dataDir, ...listenAnywhere], {
      CAIRN_ACCESS_KEY: admin.accessKey,
      CAIRN_SECRET_KEY: admin.secretKey,
      CAIRN_CLUSTER_SECRET: "lock-test-cluster-secret-0123"
    }, (line) => {
      const m = /"msg":"cairn server started".*"api":"(http:\/\/[^"]+)"/.exec(line)
      if (m !== null) api = m[1]!
    })
    children.push(first)
    for (;;) {
      if (first.exitCode !== null) throw new Error(`the first server exited with ${first.exitCode}`)
      if (api !== "" && (await fetch(`${api}/ready`).catch(() => undefined))?.status === 200) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect((await fetch(`${api}/v1/kv/before`, { method: "PUT", body: "one", headers: apiHeaders(admin) })).status).toBe(200)
    const before = snapshot(dataDir)

    const second = await runToExit(["--data-dir", dataDir, ...listenAnywhere])
    expect(second.code).toBe(2)
    expect(second.stderr).toHaveLength(1)
    expect(second.stderr[0]).toContain(`in use by another cairn server (pid ${first.pid})`)
    expect(snapshot(dataDir)).toEqual(before)

    expect(await (await fetch(`${api}/v1/kv/before`, { headers: apiHeaders(admin) })).text()).toBe("one")
    expect((await fetch(`${api}/v1/kv/after`, { method: "PUT", body: "two", headers: apiHeaders(admin) })).status).toBe(200)
    first.kill("SIGTERM")
    await exited(first)
    expect(first.signalCode).toBe("SIGTERM")
  })
})

describe("unusable data directories: one line, exit 2, at once", () => {
  it("inside /proc (Node's recursive mkdir spun there forever) and a file", async () => {
    const proc = await runToExit(["--data-dir", "/proc/cairn-nope", ...listenAnywhere])
    expect(proc).toMatchObject({ code: 2, stderr: [expect.stringContaining("/proc/cairn-nope: cannot create it")] })
    const file = join(fresh(), "file")
    writeFileSync(file, "x")
    const onFile = await runToExit(["--data-dir", file, ...listenAnywhere])
    expect(onFile).toMatchObject({ code: 2, stderr: [expect.stringContaining("not a directory")] })
    expect(readdirSync(join(file, ".."))).toEqual(["file"])
  })

  it("no permission (the server runs as nobody; root bypasses permission checks)", async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip("needs root to start a process as nobody")
    const canRun = spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(cliMain)}, 4)`], { uid: 65534, gid: 65534 })
    if (canRun.status !== 0) return ctx.skip("nobody cannot read this checkout")
    const parent = fresh()
    mkdirSync(join(parent, "locked"))
    chmodSync(join(parent, "locked"), 0o700)
    for (const dir of [join(parent, "locked"), join(parent, "locked", "data")]) {
      // What spawnCairn runs, as nobody.
      const r = spawnSync(process.execPath, [cliMain, "server", "--data-dir", dir, ...listenAnywhere], { uid: 65534, gid: 65534, encoding: "utf8", timeout: 60_000, env: { ...process.env, ...noSecrets, HOME: "/tmp" } })
      const lines = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{"))
      expect([r.status, lines]).toEqual([2, [expect.stringContaining("permission denied (EACCES)")]])
    }
  })
})
