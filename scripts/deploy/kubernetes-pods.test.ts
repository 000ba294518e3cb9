/**
 * The pod scripts of deploy/kubernetes (start.sh, join.sh) run as the
 * StatefulSet runs them, without Kubernetes: each "pod" is a Linux network
 * namespace of its own (the hosts of `cairn jepsen`) whose /etc/hosts
 * (`ip netns exec` mounts /etc/netns/NS/hosts over it) gives the headless
 * Service's names, cairn-N.cairn-peers, and the client Service's, cairn;
 * `cairn` on the PATH is this checkout's bin/cairn.js, as in the image.
 *
 * Pods cairn-0..2 start with no other step and elect a leader; cairn-3,
 * started later with its join container, is added by `cairn cluster add`
 * and serves reads of what was written before; a restarted join container
 * finds it already a member; a join container stops at once on SIGTERM;
 * an empty Secret stops a node with exit 2 and says which keys to set.
 * Needs root and iproute2 (.ci/run installs it).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Hosts, namespaceHosts, namespaceProblem, type TestHost } from "../../runtime-node/src/jepsen/hosts.ts"

const repo = join(import.meta.dirname, "..", "..")
const scripts = join(repo, "deploy", "kubernetes", "scripts")
const scratch = mkdtempSync(join(tmpdir(), "cairn-pods-"))
const bin = join(scratch, "bin")
const pods = ["cairn-0", "cairn-1", "cairn-2", "cairn-3"]
const credentials = { CAIRN_ACCESS_KEY: "CAIRNPODTEST", CAIRN_SECRET_KEY: "pod-test-admin-secret" }
const basicAuth = `Basic ${Buffer.from(`${credentials.CAIRN_ACCESS_KEY}:${credentials.CAIRN_SECRET_KEY}`).toString("base64")}`

interface Proc {
  readonly child: ChildProcess
  readonly lines: Array<string>
}

const started: Array<Proc> = []
let hosts: Hosts | undefined
const etcNetns: Array<string> = []
// /etc/netns is iproute2's place for per-namespace files; removed at the end if this test made it.
const etcNetnsExisted = existsSync("/etc/netns")

/** The environment the StatefulSet gives a container (statefulset.yaml), for pod `name`. */
const podEnv = (name: string, dataDir: string): Record<string, string> => ({
  PATH: `${bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
  POD_NAME: name,
  CAIRN_INITIAL_MEMBERS: "3",
  CAIRN_PEER_SERVICE: "cairn-peers",
  CAIRN_PEER_PORT: "9200",
  CAIRN_API_PORT: "9100",
  CAIRN_S3_LISTEN: "0.0.0.0:9000",
  CAIRN_DATA_DIR: dataDir,
  CAIRN_CLUSTER_ENDPOINT: "http://cairn:9100",
  CAIRN_CLUSTER_SECRET: "pod-test-cluster-secret-0123456789",
  ...credentials
})

/** Runs `script` in pod `i`'s namespace, in a process group of its own. */
const runScript = (i: number, script: "start.sh" | "join.sh"): Proc => {
  const node: TestHost = hosts!.nodes[i]!
  const env = podEnv(pods[i]!, join(scratch, "data", pods[i]!))
  const argv = hosts!.wrap(node, ["env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "/bin/sh", join(scripts, script)])
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", "pipe", "pipe"] })
  const proc = { child, lines: [] as Array<string> }
  child.stdout!.on("data", (b: Buffer) => proc.lines.push(b.toString()))
  child.stderr!.on("data", (b: Buffer) => proc.lines.push(b.toString()))
  started.push(proc)
  return proc
}

const exitOf = (child: ChildProcess): Promise<{ readonly code: number | null; readonly signal: string | null }> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))

const stop = async (proc: Proc): Promise<void> => {
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    try {
      process.kill(-proc.child.pid!, "SIGTERM")
    } catch {
      // the group is gone already
    }
  }
  await exitOf(proc.child)
}

const api = (i: number) => `http://${hosts!.nodes[i]!.ip}:9100`

/** Every started process's output, for a failure's message. */
const allOutput = (): string => started.map((p) => `--- ${p.child.spawnargs.find((a) => a.startsWith("POD_NAME=")) ?? ""} ${p.child.spawnargs.at(-1) ?? ""}:\n${p.lines.join("")}`).join("\n")

/** Polls until `check` holds, the process ends or 240 s pass; the processes' output explains a failure. */
const until = async (proc: Proc, what: string, check: () => Promise<boolean>): Promise<void> => {
  const deadline = performance.now() + 240_000
  while (!(await check().catch(() => false))) {
    if (proc.child.exitCode !== null) throw new Error(`${what}: the process ended (${proc.child.exitCode}):\n${allOutput()}`)
    if (performance.now() > deadline) throw new Error(`${what}: not within 240 s:\n${allOutput()}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/**
 * A PUT retried on 503 and 504, as a client should (the value is the same,
 * so a retry cannot do harm); the machine running this may be busy enough
 * for a first write to outlast the request timeout. The last status.
 */
const writeWithRetries = async (i: number, key: string, value: string): Promise<number> => {
  let status = 0
  for (let attempt = 0; attempt < 10 && status !== 200; attempt++) {
    status = (await fetch(`${api(i)}/v1/kv/${key}`, { method: "PUT", body: value, headers: { authorization: basicAuth } })).status
    if (status !== 503 && status !== 504) break
  }
  return status
}

const ready = (i: number) => fetch(`${api(i)}/ready`).then((r) => r.ok)

const problem = namespaceProblem()

beforeAll(async () => {
  if (problem !== undefined) return
  mkdirSync(bin, { recursive: true })
  // `cairn` as the image provides it: this checkout's program on the pinned Node.
  writeFileSync(join(bin, "cairn"), `#!/bin/sh\nexec ${join(repo, "node_modules", ".bin", "node")} ${join(repo, "bin", "cairn.js")} "$@"\n`)
  chmodSync(join(bin, "cairn"), 0o755)
  hosts = await namespaceHosts(pods)
  // What cluster DNS answers in the pods: the headless Service's per-pod names, and the client Service (here pod 0).
  const names = hosts.nodes.map((n, i) => `${n.ip} ${pods[i]}.cairn-peers${i === 0 ? " cairn" : ""}`)
  for (const node of hosts.nodes) {
    const dir = join("/etc/netns", node.netns!)
    mkdirSync(dir, { recursive: true })
    etcNetns.push(dir)
    writeFileSync(join(dir, "hosts"), ["127.0.0.1 localhost", ...names, ""].join("\n"))
  }
})

afterAll(async () => {
  for (const proc of started) await stop(proc)
  await hosts?.teardown()
  for (const dir of etcNetns) rmSync(dir, { recursive: true, force: true })
  if (!etcNetnsExisted && existsSync("/etc/netns")) rmSync("/etc/netns", { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
})

describe("deploy/kubernetes pod scripts, one network namespace per pod", () => {
  it("needs root and iproute2 for the namespaces", () => {
    expect(problem, "run as root with iproute2 installed (.ci/run installs it)").toBeUndefined()
  })

  it("bootstraps cairn-0..2 with no manual step, then adds cairn-3 through its join container", { timeout: 600_000 }, async () => {
    if (problem !== undefined) return
    const initial = [0, 1, 2].map((i) => runScript(i, "start.sh"))
    for (const [i, proc] of initial.entries()) await until(proc, `${pods[i]} ready`, () => ready(i))
    expect(await writeWithRetries(1, "before-join", "written by three")).toBe(200)

    const node3 = runScript(3, "start.sh")
    const join3 = runScript(3, "join.sh")
    // "already a member" too: on a busy machine an add can outlast its timeout and still apply, and the retry then finds it done.
    await until(join3, "cairn-join added cairn-3", () => Promise.resolve(/cairn-join: (added cairn-3|cairn-3 is already a member)/.test(join3.lines.join(""))))
    await until(node3, "cairn-3 ready", () => ready(3))
    const read = await fetch(`${api(3)}/v1/kv/before-join`, { headers: { authorization: basicAuth } })
    expect(await read.text()).toBe("written by three")
    const members = await (await fetch(`${api(0)}/v1/admin/members`, { headers: { authorization: basicAuth } })).json() as { members: Array<{ id: string; role: string; peerAddress: string; apiAddress: string }> }
    // Every address a name others can reach, the answering node's own included (not its 0.0.0.0 listen address).
    expect(members.members.map((m) => `${m.id} ${m.role} ${m.peerAddress} ${m.apiAddress}`)).toEqual(
      [0, 1, 2, 3].map((i) => `cairn-${i} voter cairn-${i}.cairn-peers:9200 cairn-${i}.cairn-peers:9100`)
    )

    // The join container restarts (or the pod does): the node is a member already, nothing changes.
    await stop(join3)
    const again = runScript(3, "join.sh")
    await until(again, "cairn-join saw cairn-3 already a member", () => Promise.resolve(again.lines.join("").includes("cairn-3 is already a member")))
    // Then it idles, and a pod's stop ends it at once (not after the grace period).
    expect(again.child.exitCode).toBeNull()
    process.kill(-again.child.pid!, "SIGTERM")
    expect(await exitOf(again.child)).toEqual({ code: 0, signal: null })
  })

  it("a join container on an initial member idles and stops on SIGTERM", async () => {
    if (problem !== undefined) return
    const idle = runScript(0, "join.sh")
    await new Promise((r) => setTimeout(r, 500))
    expect(idle.child.exitCode).toBeNull()
    expect(idle.lines.join("")).toBe("")
    process.kill(-idle.child.pid!, "SIGTERM")
    expect(await exitOf(idle.child)).toEqual({ code: 0, signal: null })
  })
})

describe("deploy/kubernetes start.sh without the Secret", () => {
  it("stops with exit 2 and names the keys to set", () => {
    const r = spawnSync("/bin/sh", [join(scripts, "start.sh")], {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", POD_NAME: "cairn-0", CAIRN_INITIAL_MEMBERS: "3", CAIRN_PEER_SERVICE: "cairn-peers", CAIRN_CLUSTER_SECRET: "", CAIRN_ACCESS_KEY: "", CAIRN_SECRET_KEY: "" }
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("cluster-secret, access-key and secret-key must all be set")
  })
})
