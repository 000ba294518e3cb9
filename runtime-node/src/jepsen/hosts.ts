/**
 * The test hosts of a real-cluster Jepsen run: where each `cairn server`
 * listens and how its network is cut.
 *
 * - **namespaces**: each node in its own Linux network namespace with one
 *   address 10.88.S.i on a bridge that lives in a further namespace of ours;
 *   the runner reaches the bridge through one veth (10.88.S.254) so clients
 *   are never partitioned. Partitions are nftables rules inside the node
 *   namespaces that drop packets from the cut peers (real packet loss: TCP
 *   stalls, retransmits, times out). Needs root, `ip`, and `nft` for
 *   partitions.
 * - **loopback**: every node on 127.0.0.1 with its own ports; no partitions
 *   (kill, pause and clock faults still work).
 *
 * Everything created is named after the runner's pid (`cairnj-<pid>-...`),
 * so a later run can remove what a killed runner left behind.
 */
import { execFileSync, spawn } from "node:child_process"
import { freeLoopbackPorts } from "../net/free-ports.ts"

export type HostMode = "namespaces" | "loopback"

export interface TestHost {
  readonly id: string
  /** The address the node's API and peer port listen on. */
  readonly ip: string
  readonly apiPort: number
  readonly peerPort: number
  readonly s3Port: number
  /** The node's network namespace, in namespace mode. */
  readonly netns: string | undefined
}

export interface Hosts {
  readonly mode: HostMode
  readonly nodes: ReadonlyArray<TestHost>
  /** Why partitions cannot run here (undefined: they can). */
  readonly noPartitions: string | undefined
  /** Notes for the output: why this mode, what it cannot do. */
  readonly notes: ReadonlyArray<string>
  /** The command line that runs `argv` on `node`'s host. */
  readonly wrap: (node: TestHost, argv: ReadonlyArray<string>) => ReadonlyArray<string>
  /**
   * Makes exactly these directed links cut (messages from `from` to `to`
   * dropped); `[]` heals. Returns the drop rules now in force and the
   * packets the previous rules dropped (read from their counters).
   */
  readonly cut: (links: ReadonlyArray<readonly [string, string]>) => Promise<{ readonly rules: number; readonly droppedBefore: number }>
  /** Removes everything this run created. Idempotent. */
  readonly teardown: () => Promise<void>
  /** The same, synchronously, for `process.on("exit")`. */
  readonly teardownSync: () => void
}

export class HostSetupError extends Error {}

const prefix = "cairnj-"

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to completion (never through a shell), with optional stdin. */
export const run = (file: string, args: ReadonlyArray<string>, input?: string): Promise<Run> =>
  new Promise((resolve) => {
    const child = spawn(file, [...args], { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: stderr + String(e) }))
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }))
    // A command that exits before reading its input must not crash the runner (EPIPE).
    child.stdin?.on("error", () => {})
    child.stdin?.end(input)
  })

const must = async (file: string, args: ReadonlyArray<string>, input?: string): Promise<string> => {
  const r = await run(file, args, input)
  if (r.code !== 0) throw new HostSetupError(`${file} ${args.join(" ")}: ${r.stderr.trim() || `exit ${r.code}`}`)
  return r.stdout
}

const hasCommand = (name: string): boolean => {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Removes the namespaces (and the processes inside them) of earlier runs
 * whose runner is gone. Returns their names.
 */
export const removeStaleNamespaces = async (): Promise<Array<string>> => {
  const list = await run("ip", ["netns", "list"])
  if (list.code !== 0) return []
  const stale: Array<string> = []
  for (const line of list.stdout.split("\n")) {
    const name = line.split(" ")[0] ?? ""
    const m = /^cairnj-(\d+)-/.exec(name)
    if (m === null || pidAlive(Number(m[1]))) continue
    const pids = await run("ip", ["netns", "pids", name])
    for (const p of pids.stdout.split(/\s+/).filter((s) => s !== "")) {
      try {
        process.kill(Number(p), "SIGKILL")
      } catch {
        // already gone
      }
    }
    await run("ip", ["netns", "del", name])
    stale.push(name)
  }
  return stale
}


export const loopbackHosts = async (ids: ReadonlyArray<string>, why: string): Promise<Hosts> => {
  const ports = await freeLoopbackPorts(ids.length * 3)
  return {
    mode: "loopback",
    nodes: ids.map((id, i) => ({ id, ip: "127.0.0.1", apiPort: ports[3 * i]!, peerPort: ports[3 * i + 1]!, s3Port: ports[3 * i + 2]!, netns: undefined })),
    noPartitions: `loopback mode (${why}): partitions need network namespaces`,
    notes: [`loopback: ${why}; partitions are skipped, kill/pause/clock run`],
    wrap: (_node, argv) => argv,
    cut: (links) => (links.length === 0 ? Promise.resolve({ rules: 0, droppedBefore: 0 }) : Promise.reject(new HostSetupError("partitions need network namespaces"))),
    teardown: () => Promise.resolve(),
    teardownSync: () => {}
  }
}

/** Why namespace mode cannot run here, or undefined if it may. */
export const namespaceProblem = (): string | undefined => {
  if (process.platform !== "linux") return "not Linux"
  if (process.getuid?.() !== 0) return "not root (network namespaces need CAP_NET_ADMIN)"
  if (!hasCommand("ip")) return "no `ip` command (iproute2)"
  return undefined
}

/** A /24 under 10.88 that no interface here uses yet. */
const pickSubnet = async (): Promise<number> => {
  const routes = (await run("ip", ["-4", "route", "show"])).stdout + (await run("ip", ["-4", "addr", "show"])).stdout
  for (let k = 0; k < 250; k++) {
    const s = ((process.pid + k) % 250) + 1
    if (!routes.includes(`10.88.${s}.`)) return s
  }
  throw new HostSetupError("no free 10.88.x.0/24 subnet")
}

const nftTable = `table inet cairn_jepsen {
  chain input { type filter hook input priority 0; policy accept; }
}
`

export const namespaceHosts = async (ids: ReadonlyArray<string>): Promise<Hosts> => {
  const tag = `${prefix}${process.pid}`
  const sw = `${tag}-sw`
  const hostVeth = `cj${process.pid}h`.slice(0, 15)
  const nsOf = (i: number) => `${tag}-n${i + 1}`
  const created: Array<string> = []
  let hostLink = false
  let torn = false
  const teardownSync = () => {
    if (torn) return
    torn = true
    for (const ns of [...created].reverse()) {
      try {
        const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
        for (const p of pids.split(/\s+/).filter((s) => s !== "")) process.kill(Number(p), "SIGKILL")
      } catch {
        // gone already
      }
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" })
      } catch {
        // gone already
      }
    }
    if (hostLink) {
      try {
        execFileSync("ip", ["link", "del", hostVeth], { stdio: "ignore" })
      } catch {
        // deleted with its peer in the switch namespace
      }
    }
  }
  const teardown = async () => {
    if (torn) return
    torn = true
    for (const ns of [...created].reverse()) {
      const pids = await run("ip", ["netns", "pids", ns])
      for (const p of pids.stdout.split(/\s+/).filter((s) => s !== "")) {
        try {
          process.kill(Number(p), "SIGKILL")
        } catch {
          // gone already
        }
      }
      await run("ip", ["netns", "del", ns])
    }
    if (hostLink) await run("ip", ["link", "del", hostVeth])
  }
  try {
    const s = await pickSubnet()
    const ipOf = (i: number) => `10.88.${s}.${i + 1}`
    await must("ip", ["netns", "add", sw])
    created.push(sw)
    await must("ip", ["-n", sw, "link", "set", "lo", "up"])
    await must("ip", ["-n", sw, "link", "add", "br0", "type", "bridge"])
    await must("ip", ["-n", sw, "link", "set", "br0", "up"])
    for (let i = 0; i < ids.length; i++) {
      const ns = nsOf(i)
      await must("ip", ["netns", "add", ns])
      created.push(ns)
      await must("ip", ["-n", ns, "link", "set", "lo", "up"])
      await must("ip", ["-n", sw, "link", "add", `v${i + 1}`, "type", "veth", "peer", "name", "eth0", "netns", ns])
      await must("ip", ["-n", sw, "link", "set", `v${i + 1}`, "master", "br0", "up"])
      await must("ip", ["-n", ns, "addr", "add", `${ipOf(i)}/24`, "dev", "eth0"])
      await must("ip", ["-n", ns, "link", "set", "eth0", "up"])
    }
    await must("ip", ["link", "add", hostVeth, "type", "veth", "peer", "name", "vh", "netns", sw])
    hostLink = true
    await must("ip", ["-n", sw, "link", "set", "vh", "master", "br0", "up"])
    await must("ip", ["addr", "add", `10.88.${s}.254/24`, "dev", hostVeth])
    await must("ip", ["link", "set", hostVeth, "up"])

    const nft = hasCommand("nft")
    if (nft) for (let i = 0; i < ids.length; i++) await must("ip", ["netns", "exec", nsOf(i), "nft", "-f", "-"], nftTable)
    const nodes: Array<TestHost> = ids.map((id, i) => ({ id, ip: ipOf(i), apiPort: 9100, peerPort: 9200, s3Port: 9000, netns: nsOf(i) }))
    const ipById = new Map(nodes.map((n) => [n.id, n.ip]))
    const list = (node: TestHost) => must("ip", ["netns", "exec", node.netns!, "nft", "list", "chain", "inet", "cairn_jepsen", "input"])
    const cut = async (links: ReadonlyArray<readonly [string, string]>) => {
      if (!nft) {
        if (links.length === 0) return { rules: 0, droppedBefore: 0 }
        throw new HostSetupError("partitions need nftables (`nft`)")
      }
      let rules = 0
      let droppedBefore = 0
      for (const node of nodes) {
        for (const m of (await list(node)).matchAll(/counter packets (\d+)/g)) droppedBefore += Number(m[1])
        // Cutting from -> to: `to` drops every packet from `from` (as Jepsen does with iptables).
        const from = links.filter(([, to]) => to === node.id).map(([f]) => ipById.get(f)!)
        const script = ["flush chain inet cairn_jepsen input", ...(from.length === 0 ? [] : [`add rule inet cairn_jepsen input ip saddr { ${from.join(", ")} } counter drop`])].join("\n")
        await must("ip", ["netns", "exec", node.netns!, "nft", "-f", "-"], `${script}\n`)
        rules += ((await list(node)).match(/ drop/g) ?? []).length
      }
      return { rules, droppedBefore }
    }
    return {
      mode: "namespaces",
      nodes,
      noPartitions: nft ? undefined : "no `nft` (apt-get install nftables)",
      notes: [
        `namespaces: ${ids.length} network namespaces ${tag}-n1..n${ids.length} on a bridge in ${sw}, nodes at 10.88.${s}.1-${ids.length}, runner at 10.88.${s}.254 (${hostVeth})`,
        nft ? "partitions: nftables drop rules inside the node namespaces (node-to-node only; clients reach every node)" : "partitions skipped: no `nft`"
      ],
      wrap: (node, argv) => ["ip", "netns", "exec", node.netns!, ...argv],
      cut,
      teardown,
      teardownSync
    }
  } catch (e) {
    await teardown()
    throw e instanceof HostSetupError ? e : new HostSetupError(String(e))
  }
}

/** Namespaces when asked for (`on`) or possible (`auto`), else loopback. */
export const makeHosts = async (ids: ReadonlyArray<string>, namespaces: "auto" | "on" | "off"): Promise<Hosts> => {
  if (namespaces === "off") return loopbackHosts(ids, "--namespaces off")
  const problem = namespaceProblem()
  if (problem !== undefined) {
    if (namespaces === "on") throw new HostSetupError(`--namespaces on, but ${problem}`)
    return loopbackHosts(ids, problem)
  }
  await removeStaleNamespaces()
  try {
    return await namespaceHosts(ids)
  } catch (e) {
    if (namespaces === "on") throw e
    return loopbackHosts(ids, `namespace setup failed: ${(e as Error).message}`)
  }
}
