/**
 * `npm run test:containers` (as root; not part of `npm test`): builds the
 * image, starts the compose cluster (deploy/compose/compose.yaml) with
 * podman-compose, uses it through the AWS CLI and the KV API, stops one
 * node and shows reads and writes going on (an erasure-coded write is
 * stored degraded, its missing shard recorded), starts the node again and
 * shows it rejoin and the leader's repair write the missing shard; then
 * checks that a node whose seccomp profile refuses io_uring runs on the
 * libuv disk and says so. It prints every step, removes its containers and
 * volumes, and exits 1 if a step failed (2 if the machine lacks a tool).
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createServer } from "node:net"
import { aws, type Credentials, kvGet, kvPut, metric, type NodePorts, retry, status, waitReady } from "./cluster-client.ts"
import { makeNodeDisk } from "@cairn/runtime-node/disk/io-uring-disk"
import { CommandFailed, composeContainers, must, onPath, quirkFreeContainersConf, run } from "./podman.ts"

const root = join(import.meta.dirname, "..", "..")
const composeFile = join(root, "deploy", "compose", "compose.yaml")
const project = "cairn-containers-test"
const image = "localhost/cairn:latest"
const nodes: ReadonlyArray<NodePorts> = [
  { id: "n1", s3: 9000, api: 9100 },
  { id: "n2", s3: 9001, api: 9101 },
  { id: "n3", s3: 9002, api: 9102 }
]
/** Where the compose file publishes each node's web console. */
const consolePort = (i: number) => 9300 + i
const work = mkdtempSync(join(tmpdir(), "cairn-containers-test-"))

type Outcome = "pass" | "fail"
const results: Array<{ readonly outcome: Outcome; readonly step: string; readonly detail: string }> = []
const record = (outcome: Outcome, step: string, detail = "") => {
  results.push({ outcome, step, detail })
  const mark = outcome === "pass" ? "ok  " : "FAIL"
  process.stdout.write(`${mark} ${step}${detail === "" ? "" : `: ${detail}`}\n`)
}
const check = (ok: boolean, step: string, detail = "") => record(ok ? "pass" : "fail", step, detail)
const say = (line: string) => process.stdout.write(`\n== ${line}\n`)

const compose = (args: ReadonlyArray<string>) => must("podman-compose", ["-p", project, "-f", composeFile, ...args], { timeoutMs: 300_000 })
const containerOf = (id: string): string => {
  const c = composeContainers(project).find((x) => x.service === id)
  if (c === undefined) throw new CommandFailed({ message: `no container for service ${id} in project ${project}` })
  return c.name
}
const logsOf = (container: string) => {
  const r = run("podman", ["logs", container])
  return `${r.stdout}${r.stderr}`
}

/** Stops and removes the project's containers and volumes (also those a crashed earlier run left). */
const cleanup = () => {
  run("podman-compose", ["-p", project, "-f", composeFile, "down", "-v", "-t", "30"], { timeoutMs: 300_000 })
  for (const v of ["n1-data", "n2-data", "n3-data", "secrets"]) run("podman", ["volume", "rm", "-f", `${project}_${v}`])
  run("podman", ["network", "rm", "-f", `${project}_default`]) // podman-compose 1.0.3's down leaves the network
  for (const label of ["unconfined", "no-io-uring"]) run("podman", ["rm", "-f", "-t", "30", `${project}-${label}`])
}

const buildImage = () => {
  say("build the image (the base image first, if missing)")
  must(join(root, "scripts", "container", "build-image.sh"), [], { timeoutMs: 3_600_000 })
  const inspect = JSON.parse(must("podman", ["image", "inspect", image]).stdout)[0] as {
    Size: number
    /** podman puts the image's HEALTHCHECK here, beside Config. */
    Healthcheck?: { Test: Array<string> }
    Config: { User: string; Labels: Record<string, string>; Healthcheck?: { Test: Array<string> }; Volumes?: Record<string, unknown>; StopSignal?: string }
  }
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version
  check(true, "image built", `${image}, ${(inspect.Size / 1e6).toFixed(0)} MB`)
  check(inspect.Config.Labels["org.opencontainers.image.version"] === version, "label version = package.json", inspect.Config.Labels["org.opencontainers.image.version"] ?? "none")
  const head = must("git", ["rev-parse", "HEAD"], { cwd: root }).stdout.trim()
  const revision = must("git", ["status", "--porcelain"], { cwd: root }).stdout.trim() === "" ? head : `${head}-dirty`
  const labelled = inspect.Config.Labels["org.opencontainers.image.revision"] ?? "none"
  check(labelled === revision, "label revision = this worktree's", labelled)
  check(inspect.Config.User === "10001:10001", "runs as uid 10001", inspect.Config.User)
  check(inspect.Config.Volumes !== undefined && "/data" in inspect.Config.Volumes, "volume /data")
  const healthcheck = (inspect.Healthcheck ?? inspect.Config.Healthcheck)?.Test ?? []
  check(healthcheck.join(" ").includes("healthcheck.ts"), "HEALTHCHECK", healthcheck.join(" "))
  const tools = run("podman", ["run", "--rm", "--network", "host", "--entrypoint", "/bin/sh", image, "-c", "command -v cc gcc make npm python3 apt-get || true"])
  check(!/\b(cc|gcc|make|npm|python3)\b/.test(tools.stdout), "no compiler, make, npm or python3 in the image", tools.stdout.trim().replace(/\n/g, " "))
}

/** Starts the cluster; returns the admin credentials the first start printed. */
const startCluster = async (): Promise<Credentials> => {
  say("start the 3-node cluster with podman-compose")
  const up = compose(["up", "-d"])
  // podman-compose 1.0.3 exits 0 even when a `podman run` fails: count what runs.
  const running = composeContainers(project).filter((c) => c.state === "running")
  check(running.length === 3, "podman-compose up -d: three containers running", running.map((c) => c.name).join(", "))
  if (running.length !== 3) throw new CommandFailed({ message: `podman-compose up -d:\n${`${up.stdout}\n${up.stderr}`.trim().split("\n").slice(-15).join("\n")}` })
  for (const node of nodes) {
    const ready = await waitReady(node, 180)
    check(ready.ok, `${node.id} /ready`, ready.ok ? ready.value.trim() : ready.why)
  }
  const logs = nodes.map((n) => logsOf(containerOf(n.id)))
  const generated = logs.filter((l) => l.includes("Generated the cluster secret"))
  check(generated.length === 1, "exactly one node generated the shared secrets", `${generated.length} did`)
  const accessKey = /CAIRN_ACCESS_KEY=(\S+)/.exec(generated[0] ?? "")?.[1]
  const secretKey = /CAIRN_SECRET_KEY=(\S+)/.exec(generated[0] ?? "")?.[1]
  if (accessKey === undefined || secretKey === undefined) throw new CommandFailed({ message: "no admin credentials in the nodes' logs" })
  for (const [i, log] of logs.entries()) {
    const disk = /disk: (io_uring|libuv) \(([^)]*)\)/.exec(log)
    record("pass", `${nodes[i]!.id} disk`, disk === null ? "no disk line in the log" : `${disk[1]} (${disk[2]})`)
    // The image ships @node-rs/crc32's binary (an optional dependency): the server must say it bound it.
    const crc = /"crc32c":"([^"]*)"/.exec(log)
    check(crc?.[1] === "native", `${nodes[i]!.id} CRC32C is the native one`, crc === null ? "no crc32c in the start line" : crc[1]!)
  }
  const health = run("podman", ["healthcheck", "run", containerOf("n1")])
  check(health.code === 0, "podman healthcheck run (n1)", `${health.stdout.trim()} ${health.stderr.trim()}`.trim())
  for (const [i, node] of nodes.entries()) await checkConsole(node, consolePort(i), { accessKey, secretKey })
  return { accessKey, secretKey }
}

/** The node's web console, published by the compose file: its page, and a sign-in with the admin's key. */
const checkConsole = async (node: NodePorts, port: number, credentials: Credentials) => {
  const origin = `http://127.0.0.1:${port}`
  try {
    const page = await fetch(`${origin}/`, { signal: AbortSignal.timeout(10_000) })
    const html = await page.text()
    check(page.status === 200 && html.includes("<script"), `${node.id} console page on ${origin}`, `HTTP ${page.status}`)
    const signIn = await fetch(`${origin}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify(credentials),
      signal: AbortSignal.timeout(10_000)
    })
    check(signIn.status === 200, `${node.id} console sign-in with the admin's key`, `HTTP ${signIn.status} ${signIn.status === 200 ? "" : (await signIn.text()).slice(0, 200)}`.trim())
  } catch (e) {
    check(false, `${node.id} console on ${origin}`, e instanceof Error ? e.message : String(e))
  }
}

interface Payloads {
  readonly small: string
  readonly medium: string
  readonly big: string
}

const payloads = (): Payloads => {
  const small = join(work, "hello.txt")
  const big = join(work, "big.bin")
  const medium = join(work, "medium.bin")
  writeFileSync(small, "hello from the compose cluster\n")
  writeFileSync(big, randomBytes(9 * 1024 * 1024)) // above the CLI's 8 MiB multipart threshold: a multipart upload
  writeFileSync(medium, randomBytes(1024 * 1024)) // above 4 KiB: erasure-coded, not inline in the Raft record
  return { small, medium, big }
}

/** Downloads `key` through `node` and compares it with the local file. */
const readBack = (node: NodePorts, credentials: Credentials, key: string, original: string, attempts = 5): { ok: boolean; detail: string } => {
  const out = join(work, `read-${node.id}-${key}`)
  rmSync(out, { force: true })
  const r = aws(node, credentials, ["s3", "cp", `s3://photos/${key}`, out, "--only-show-errors"], attempts)
  if (r.code !== 0) return { ok: false, detail: `aws exited ${r.code}: ${r.stderr.trim().slice(0, 300)}` }
  const same = readFileSync(out).equals(readFileSync(original))
  return { ok: same, detail: same ? `${readFileSync(out).length} bytes, identical` : "different bytes" }
}

const useCluster = async (credentials: Credentials, files: Payloads) => {
  say("use it: the AWS CLI (S3) and the KV API")
  const mb = aws(nodes[0]!, credentials, ["s3", "mb", "s3://photos"])
  check(mb.code === 0, "aws s3 mb s3://photos (n1)", (mb.stdout + mb.stderr).trim())
  const put1 = aws(nodes[0]!, credentials, ["s3", "cp", files.small, "s3://photos/hello.txt", "--only-show-errors"])
  check(put1.code === 0, "aws s3 cp hello.txt (n1)", put1.stderr.trim())
  const put2 = aws(nodes[1]!, credentials, ["s3", "cp", files.big, "s3://photos/big.bin", "--only-show-errors"])
  check(put2.code === 0, "aws s3 cp big.bin, 9 MiB multipart (n2)", put2.stderr.trim())
  const ls = aws(nodes[2]!, credentials, ["s3", "ls", "s3://photos/"])
  check(ls.code === 0 && ls.stdout.includes("hello.txt") && ls.stdout.includes("big.bin"), "aws s3 ls (n3) lists both", ls.stdout.trim().replace(/\n/g, " | "))
  const read = readBack(nodes[2]!, credentials, "big.bin", files.big)
  check(read.ok, "big.bin read back through n3", read.detail)
  const kv = await kvPut(nodes[0]!, credentials, "greeting", "hello")
  check(kv.ok, "KV PUT greeting (n1)", kv.ok ? kv.value : kv.why)
  const got = await kvGet(nodes[2]!, credentials, "greeting", "hello")
  check(got.ok, "KV GET greeting (n3)", got.ok ? got.value : got.why)
}

/** Which node leads now (asked of every node until one knows). */
const leaderId = async (credentials: Credentials): Promise<string | undefined> => {
  const r = await retry(60, async () => {
    for (const n of nodes) {
      const s = await status(n, credentials)
      if (s?.leader != null) return { ok: true as const, value: s.leader }
    }
    return { ok: false as const, why: "no node knows a leader" }
  })
  return r.ok ? r.value : undefined
}


/** How a container ended: 143 is SIGTERM handled to the end (graceful), 137 a SIGKILL after the stop timeout. */
const exitCodeOf = (container: string) => Number(must("podman", ["inspect", "--format", "{{.State.ExitCode}}", container]).stdout.trim())

/** Stops the leader; returns it. Reads, KV writes and object writes (degraded: one shard recorded missing) must go on. */
const stopOne = async (credentials: Credentials, files: Payloads): Promise<NodePorts> => {
  const leader = await leaderId(credentials)
  const victim = nodes.find((n) => n.id === leader) ?? nodes[0]!
  const container = containerOf(victim.id)
  say(`stop ${victim.id} (${leader === victim.id ? "the Raft leader" : "no leader known"}): podman stop --time 30 (SIGTERM)`)
  must("podman", ["stop", "--time", "30", container])
  const code = exitCodeOf(container)
  check(code === 143, `${victim.id} ended by SIGTERM, gracefully`, `exit code ${code}${code === 137 ? " (SIGKILLed: the stop timeout passed)" : ""}`)
  check(logsOf(container).includes("cairn server stopped"), `${victim.id} logged "cairn server stopped"`)
  const up = nodes.filter((n) => n !== victim)
  for (const n of up) {
    for (const [key, file] of [["hello.txt", files.small], ["big.bin", files.big]] as const) {
      const r = readBack(n, credentials, key, file, 10)
      check(r.ok, `with ${victim.id} down: read ${key} through ${n.id}`, r.detail)
    }
  }
  const ls = aws(up[0]!, credentials, ["s3", "ls", "s3://photos/"], 10)
  check(ls.code === 0 && ls.stdout.includes("big.bin"), `with ${victim.id} down: aws s3 ls (${up[0]!.id})`, ls.stderr.trim())
  const put = await kvPut(up[0]!, credentials, "while-down", "written with a node down", 60)
  check(put.ok, `with ${victim.id} down: KV PUT (${up[0]!.id})`, put.ok ? put.value : put.why)
  const get = await kvGet(up[1]!, credentials, "while-down", "written with a node down")
  check(get.ok, `with ${victim.id} down: KV GET (${up[1]!.id})`, get.ok ? get.value : get.why)
  // Objects up to 4 KiB live inline in their Raft record (docs/objects.md): a majority is enough for them.
  const inline = aws(up[0]!, credentials, ["s3", "cp", files.small, "s3://photos/while-down.txt", "--only-show-errors"], 5)
  check(inline.code === 0, `with ${victim.id} down: PUT of a 31-byte object (inline in Raft) through ${up[0]!.id}`, inline.stderr.trim())
  // 2+1 on three nodes: the write quorum is k = 2 shards, so it is stored degraded with the third shard recorded missing.
  const coded = aws(up[0]!, credentials, ["s3", "cp", files.medium, "s3://photos/while-down.bin", "--only-show-errors"], 5)
  check(coded.code === 0, `with ${victim.id} down: PUT of a 1 MiB (erasure-coded) object through ${up[0]!.id}, degraded`, coded.stderr.trim().split("\n").at(-1) ?? "")
  const back = readBack(up[1]!, credentials, "while-down.bin", files.medium)
  check(back.ok, `with ${victim.id} down: read the degraded object back through ${up[1]!.id}`, back.detail)
  const degraded = await retry(30, async () => {
    const counts = await Promise.all(up.map((n) => metric(n, credentials, "cairn_repair_degraded_records")))
    const known = counts.find((c) => c !== undefined)
    return known !== undefined && known > 0 ? { ok: true as const, value: known } : { ok: false as const, why: `cairn_repair_degraded_records on ${up.map((n, i) => `${n.id}=${counts[i] ?? "n/a"}`).join(", ")}` }
  })
  check(degraded.ok, `with ${victim.id} down: the leader counts the degraded record (cairn_repair_degraded_records > 0)`, degraded.ok ? String(degraded.value) : degraded.why)
  return victim
}

/** Starts the stopped node again: it must become ready, catch up, and serve what was written while it was away. */
const rejoin = async (victim: NodePorts, credentials: Credentials, files: Payloads) => {
  say(`start ${victim.id} again: podman start`)
  must("podman", ["start", containerOf(victim.id)])
  const ready = await waitReady(victim, 180)
  check(ready.ok, `${victim.id} /ready after the restart`, ready.ok ? ready.value.trim() : ready.why)
  const got = await kvGet(victim, credentials, "while-down", "written with a node down")
  check(got.ok, `${victim.id} serves the KV write made while it was down`, got.ok ? got.value : got.why)
  const s = await status(victim, credentials)
  check(s !== undefined && s.leader !== null, `${victim.id} status after rejoining`, s === undefined ? "no answer" : `role ${s.role}, leader ${s.leader}, term ${s.term}, applied ${s.applied}/${s.commit}`)
  const put = aws(victim, credentials, ["s3", "cp", files.medium, "s3://photos/after-rejoin.bin", "--only-show-errors"], 10)
  check(put.code === 0, `PUT of a 1 MiB (erasure-coded) object through ${victim.id} after it rejoined`, put.stderr.trim())
  const other = nodes.find((n) => n !== victim)!
  const read = readBack(other, credentials, "after-rejoin.bin", files.medium)
  check(read.ok, `read it back through ${other.id}`, read.detail)
  const whileDown = readBack(victim, credentials, "while-down.bin", files.medium)
  check(whileDown.ok, `${victim.id} reads back the object written degraded while it was down`, whileDown.detail)
  // The leader's degraded sweep (every 10 s) writes the missing shard to the returned node; then nothing is degraded.
  const repaired = await retry(120, async () => {
    const counts = await Promise.all(nodes.map((n) => metric(n, credentials, "cairn_repair_degraded_records")))
    const known = counts.filter((c): c is number => c !== undefined)
    return known.length > 0 && known.every((c) => c === 0) ? { ok: true as const, value: 0 } : { ok: false as const, why: `cairn_repair_degraded_records: ${nodes.map((n, i) => `${n.id}=${counts[i] ?? "n/a"}`).join(", ")}` }
  })
  check(repaired.ok, `repair wrote the missing shard once ${victim.id} returned (cairn_repair_degraded_records 0 on the leader)`, repaired.ok ? "" : repaired.why)
  const health = run("podman", ["healthcheck", "run", containerOf(victim.id)])
  check(health.code === 0, `podman healthcheck run (${victim.id})`, `${health.stdout.trim()} ${health.stderr.trim()}`.trim())
}

/** Runs a single node with `--security-opt seccomp=<profile>`; returns its disk line, after a KV write and a SIGTERM stop. */
const singleNode = async (label: string, seccomp: string, port: number): Promise<string> => {
  const name = `${project}-${label}`
  const node: NodePorts = { id: label, s3: 9000 + port, api: 9100 + port }
  must("podman", [
    "run", "-d", "--name", name, "--network", "host", "--security-opt", `seccomp=${seccomp}`, "-e", `CAIRN_S3_LISTEN=127.0.0.1:${node.s3}`,
    "-e", `CAIRN_API_LISTEN=127.0.0.1:${node.api}`, "-e", `CAIRN_PEER_LISTEN=127.0.0.1:${9200 + port}`,
    "-e", `CAIRN_CONSOLE_LISTEN=127.0.0.1:${9300 + port}`, image
  ])
  try {
    const ready = await waitReady(node, 180)
    check(ready.ok, `${label} node /ready`, ready.ok ? ready.value.trim() : ready.why)
    const log = logsOf(name)
    const accessKey = /CAIRN_ACCESS_KEY=(\S+)/.exec(log)?.[1] ?? ""
    const secretKey = /CAIRN_SECRET_KEY=(\S+)/.exec(log)?.[1] ?? ""
    const put = await kvPut(node, { accessKey, secretKey }, "disk", label)
    check(put.ok, `${label} node: KV PUT`, put.ok ? put.value : put.why)
    must("podman", ["stop", "--time", "30", name])
    check(exitCodeOf(name) === 143, `${label} node stopped by SIGTERM, gracefully`, `exit code ${exitCodeOf(name)}`)
    return /disk: (io_uring|libuv) \(([^)]*)\)/.exec(log)?.[0] ?? "no disk line in the log"
  } finally {
    run("podman", ["rm", "-f", "-t", "30", name])
  }
}

/**
 * The disk follows the seccomp profile: io_uring where the profile lets it through (unconfined; if this host's
 * kernel has io_uring at all), libuv with the reason logged where it refuses it (EPERM, as Docker's profile does).
 */
const seccompDisk = async () => {
  say("the disk follows the seccomp profile: io_uring when allowed, libuv with a logged notice when refused")
  const hostDisk = makeNodeDisk(join(work, "host-probe"))
  hostDisk.shutdown()
  const allowed = await singleNode("unconfined", "unconfined", 10)
  if (hostDisk.backend === "io_uring") check(allowed.startsWith("disk: io_uring"), "seccomp=unconfined: io_uring disk", allowed)
  else record("pass", "seccomp=unconfined: this host itself has no io_uring, so libuv", `${allowed} (host: ${hostDisk.reason})`)
  const profile = join(work, "no-io-uring.json")
  writeFileSync(profile, JSON.stringify({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{ names: ["io_uring_setup", "io_uring_enter", "io_uring_register"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }]
  }))
  const refused = await singleNode("no-io-uring", profile, 11)
  check(/^disk: libuv \(io_uring_setup: Operation not permitted/.test(refused), "io_uring refused (EPERM): libuv disk, reason logged", refused)
}

/** The ports the compose file publishes and the seccomp node listens on must be free. */
const portsFree = async (): Promise<Array<number>> => {
  const ports = [...nodes.flatMap((n, i) => [n.s3, n.api, consolePort(i)]), 9010, 9110, 9210, 9310, 9011, 9111, 9211, 9311]
  const busy: Array<number> = []
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once("error", () => resolve(false))
      server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)))
    })
    if (!free) busy.push(port)
  }
  return busy
}

const preflight = async (): Promise<string | undefined> => {
  if (process.getuid?.() !== 0) return "run it as root (podman here runs rootful)"
  const missing = ["podman", "podman-compose", "aws", "debootstrap", "runc"].filter((t) => !onPath(t))
  if (missing.length > 0) return `missing: ${missing.join(", ")} (Debian: apt-get install -y podman runc debootstrap podman-compose awscli)`
  const busy = await portsFree()
  if (busy.length > 0) return `ports in use: ${busy.join(", ")} (the compose file publishes fixed ports; the seccomp check uses host networking)`
  return undefined
}

const summary = (): number => {
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length
  say(`summary: ${count("pass")} passed, ${count("fail")} failed`)
  for (const r of results.filter((x) => x.outcome !== "pass")) process.stdout.write(`${r.outcome === "fail" ? "FAIL " : "KNOWN"} ${r.step}: ${r.detail}\n`)
  return count("fail") === 0 ? 0 : 1
}

const main = async (): Promise<number> => {
  const problem = await preflight()
  if (problem !== undefined) {
    process.stderr.write(`test:containers cannot run here: ${problem}\n`)
    return 2
  }
  // This machine's podman needs runc, cgroupfs and no default ulimits (docs/deploy.md); CONTAINERS_CONF set by the caller wins.
  process.env["CONTAINERS_CONF"] ??= quirkFreeContainersConf()
  cleanup()
  try {
    buildImage()
    const credentials = await startCluster()
    const files = payloads()
    await useCluster(credentials, files)
    const victim = await stopOne(credentials, files)
    await rejoin(victim, credentials, files)
    await seccompDisk()
  } catch (e) {
    record("fail", "the test stopped early", e instanceof Error ? e.message : String(e))
  } finally {
    say("clean up: podman-compose down -v -t 30, remove the volumes")
    cleanup()
    const left = composeContainers(project).length
    check(left === 0, "no container of the test is left", `${left} left`)
    rmSync(work, { recursive: true, force: true })
  }
  return summary()
}

process.exitCode = await main()
