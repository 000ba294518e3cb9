/**
 * deploy/systemd's units, checked without running systemd (it is not PID 1
 * on these machines): `systemd-analyze verify` parses each unit (and an
 * instance of the template) with the ExecStart paths pointed at this
 * checkout, so a misspelt key, a bad value or a missing program is an
 * error; the hardening settings docs/systemd.md describes are present;
 * `systemd-analyze security --offline` scores the exposure; and a real
 * `cairn server`, traced with strace while it starts, serves a write and a
 * scrape and stops on SIGTERM, makes only system calls the units'
 * SystemCallFilter allows and opens only the socket families their
 * RestrictAddressFamilies allows. Debian's systemd package provides
 * systemd-analyze, strace its own; .ci/run installs both.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../../runtime-node/src/net/free-ports.ts"
import { parseUnitFile, type UnitFile, unitValues } from "./unit-file.ts"

const repo = join(import.meta.dirname, "..", "..")
const unitDir = join(repo, "deploy", "systemd")
const ANALYZE = "/usr/bin/systemd-analyze"
const units = ["cairn.service", "cairn@.service"] as const

const run = (program: string, args: ReadonlyArray<string>, cwd?: string): { readonly status: number | null; readonly output: string } => {
  const r = spawnSync(program, args, { encoding: "utf8", timeout: 60_000, cwd })
  if (r.error !== undefined) throw new Error(`cannot run ${program} (on Debian: apt-get install ${program.endsWith("strace") ? "strace" : "systemd"}): ${r.error.message}`)
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

const scratch = mkdtempSync(join(tmpdir(), "cairn-systemd-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** The unit as installed at /opt/cairn, copied into `dir` with that path pointing at this checkout. */
const localCopy = (dir: string, name: string, edit: (text: string) => string = (t) => t): string => {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, name), edit(readFileSync(join(unitDir, name), "utf8").replaceAll("/opt/cairn/", `${repo}/`)))
  return dir
}

const verify = (dir: string, name: string) => run(ANALYZE, ["verify", `./${name}`], dir)

const unit = (name: string): UnitFile => parseUnitFile(readFileSync(join(unitDir, name), "utf8"))

describe("deploy/systemd: systemd-analyze verify", () => {
  for (const name of units) {
    it(`accepts ${name} without a warning`, () => {
      const dir = localCopy(join(scratch, "verify"), name)
      const r = verify(dir, name)
      expect(r.output).toBe("")
      expect(r.status).toBe(0)
    })
  }

  it("accepts an instance of the template (cairn@n1.service)", () => {
    const dir = localCopy(join(scratch, "instance"), "cairn@.service")
    const r = verify(dir, "cairn@n1.service")
    expect(r.output).toBe("")
    expect(r.status).toBe(0)
  })

  it("reports a misspelt key, a bad value and a missing program (so the checks above can fail)", () => {
    const dir = localCopy(join(scratch, "broken"), "cairn.service", (t) =>
      t.replace("ProtectSystem=strict", "ProtectSystm=strict").replace("Restart=on-failure", "Restart=sometimes")
        .replaceAll(`${repo}/node_modules/.bin/node`, `${repo}/no-such-node`))
    const r = verify(dir, "cairn.service")
    expect(r.output).toContain("Unknown key 'ProtectSystm'")
    expect(r.output).toContain("Failed to parse service restart specifier")
    expect(r.output).toMatch(/no-such-node is not executable/)
    expect(r.status).not.toBe(0)
  })
})

/** Hardening every unit must carry, with the value docs/systemd.md explains. */
const hardening: ReadonlyArray<readonly [string, string]> = [
  ["User", "cairn"],
  ["NoNewPrivileges", "yes"],
  ["CapabilityBoundingSet", ""],
  ["AmbientCapabilities", ""],
  ["ProtectSystem", "strict"],
  ["ProtectHome", "yes"],
  ["PrivateTmp", "yes"],
  ["PrivateDevices", "yes"],
  ["RestrictNamespaces", "yes"],
  ["RestrictSUIDSGID", "yes"],
  ["LockPersonality", "yes"],
  ["RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"],
  ["SystemCallArchitectures", "native"],
  ["SystemCallErrorNumber", "EPERM"],
  ["LimitNOFILE", "65536"],
  ["Restart", "on-failure"],
  ["RestartPreventExitStatus", "2"],
  ["TimeoutStopSec", "30s"],
  ["KillSignal", "SIGTERM"],
  ["UMask", "0077"]
]

describe("deploy/systemd: hardening", () => {
  for (const name of units) {
    it(`${name} sets every hardening key, a state directory and an EnvironmentFile`, () => {
      const u = unit(name)
      for (const [key, value] of hardening) expect(unitValues(u, "Service", key), key).toEqual([value])
      expect(unitValues(u, "Service", "SystemCallFilter")).toEqual(["@system-service", "~@privileged"])
      expect(unitValues(u, "Service", "StateDirectory")[0]).toMatch(/^cairn(\/%i)?$/)
      expect(unitValues(u, "Service", "EnvironmentFile").length).toBeGreaterThan(0)
      expect(unitValues(u, "Service", "MemoryDenyWriteExecute")).toEqual([])
      expect(unitValues(u, "Install", "WantedBy")).toEqual(["multi-user.target"])
    })
  }

  it("the template carries the same hardening as cairn.service, and takes its node id from the instance", () => {
    const single = unit("cairn.service").get("Service")!
    const template = unit("cairn@.service").get("Service")!
    const perInstance = new Set(["StateDirectory", "CacheDirectory", "WorkingDirectory", "Environment", "EnvironmentFile"])
    for (const [key, values] of single) if (!perInstance.has(key)) expect(template.get(key), key).toEqual(values)
    expect(template.get("Environment")).toContain("CAIRN_ID=%i")
    expect(template.get("EnvironmentFile")).toEqual(["/etc/cairn/cluster.env", "/etc/cairn/%i.env"])
  })

  it("systemd-analyze security --offline rates each unit's exposure OK (below 2.0 of 10)", () => {
    for (const name of units) {
      const dir = localCopy(join(scratch, "security"), name)
      const r = run(ANALYZE, ["security", "--offline=yes", `./${name === "cairn@.service" ? "cairn@n1.service" : name}`], dir)
      const level = /Overall exposure level for \S+: ([\d.]+)/.exec(r.output)
      expect(level, r.output).not.toBeNull()
      expect(Number(level![1]), r.output).toBeLessThan(2)
    }
  })
})

/** The system calls a SystemCallFilter= allow list of groups and names admits, groups expanded recursively. */
const allowedSyscalls = (entries: ReadonlyArray<string>): Set<string> => {
  const out = new Set<string>()
  const expand = (entry: string, seen: Set<string>) => {
    if (!entry.startsWith("@")) return void out.add(entry)
    if (seen.has(entry)) return
    seen.add(entry)
    const r = run(ANALYZE, ["syscall-filter", entry])
    if (r.status !== 0) throw new Error(`systemd-analyze syscall-filter ${entry}: ${r.output}`)
    for (const line of r.output.split("\n")) {
      const item = /^ {4}([@a-z0-9_-]+)$/.exec(line)?.[1]
      if (item !== undefined) expand(item, seen)
    }
  }
  for (const entry of entries) for (const item of entry.split(/\s+/)) expand(item, new Set())
  return out
}

const straceMissing = spawnSync("strace", ["-V"]).error !== undefined

const stopGroup = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    process.kill(-child.pid!, "SIGTERM")
  })

describe("deploy/systemd: what cairn server does fits the sandbox", () => {
  it("uses only system calls in SystemCallFilter and socket families in RestrictAddressFamilies", async () => {
    if (straceMissing) throw new Error("strace is not installed (apt-get install strace; .ci/run does)")
    const [api, s3, peer] = await freeLoopbackPorts(3)
    const data = join(scratch, "traced-data")
    const trace = join(scratch, "trace.txt")
    const logs: Array<string> = []
    // Started as the unit starts it (the pinned node, bin/cairn.js), in its own process group.
    const child = spawn("strace", ["-f", "-qq", "-o", trace, join(repo, "node_modules", ".bin", "node"), join(repo, "bin", "cairn.js"), "server", "--data-dir", data, "--api-listen", `127.0.0.1:${api}`, "--s3-listen", `127.0.0.1:${s3}`, "--peer-listen", `127.0.0.1:${peer}`], { detached: true, stdio: ["ignore", "pipe", "pipe"] })
    child.stdout!.on("data", (b: Buffer) => logs.push(b.toString()))
    child.stderr!.on("data", (b: Buffer) => logs.push(b.toString()))
    try {
      const base = `http://127.0.0.1:${api}`
      let ready = false
      while (!ready && child.exitCode === null) {
        ready = await fetch(`${base}/ready`).then((r) => r.ok, () => false)
        if (!ready) await new Promise((r) => setTimeout(r, 200))
      }
      expect(ready, logs.join("")).toBe(true)
      const creds = JSON.parse(readFileSync(join(data, "admin-credentials.json"), "utf8")) as { accessKey: string; secretKey: string }
      const auth = { authorization: `Basic ${Buffer.from(`${creds.accessKey}:${creds.secretKey}`).toString("base64")}` }
      expect((await fetch(`${base}/v1/kv/systemd-check`, { method: "PUT", body: "v", headers: auth })).status).toBe(200)
      expect((await fetch(`${base}/metrics`, { headers: auth })).status).toBe(200)
    } finally {
      await stopGroup(child)
    }
    const lines = readFileSync(trace, "utf8").split("\n")
    const called = new Set(lines.map((l) => /^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)/.exec(l)?.[1]).filter((s): s is string => s !== undefined))
    const families = new Set(lines.map((l) => /\bsocket\((AF_[A-Z0-9]+)/.exec(l)?.[1]).filter((s): s is string => s !== undefined))
    expect(called.size, "the trace was read").toBeGreaterThan(30)
    expect(called.has("fdatasync") || called.has("io_uring_enter"), "the trace saw the node's writes").toBe(true)
    const u = unit("cairn.service")
    const allowed = allowedSyscalls(unitValues(u, "Service", "SystemCallFilter").filter((e) => !e.startsWith("~")))
    const denied = allowedSyscalls(unitValues(u, "Service", "SystemCallFilter").filter((e) => e.startsWith("~")).map((e) => e.slice(1)))
    expect([...called].filter((s) => !allowed.has(s) || denied.has(s)).sort()).toEqual([])
    const usesUring = logs.join("").includes("disk: io_uring")
    if (usesUring) expect(called.has("io_uring_setup") && allowed.has("io_uring_setup") && allowed.has("io_uring_enter")).toBe(true)
    const allowedFamilies = new Set(unitValues(u, "Service", "RestrictAddressFamilies").flatMap((v) => v.split(/\s+/)))
    expect([...families].filter((f) => !allowedFamilies.has(f))).toEqual([])
    expect(families.has("AF_UNIX"), "the data directory's lock is an abstract Unix socket").toBe(true)
    expect(families.has("AF_INET"), "the listeners").toBe(true)
  })
})
