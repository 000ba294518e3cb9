/**
 * Local clusters of `cairn server` child processes on loopback: what
 * `cairn dev` runs and what the multi-process tests use. Each node is a
 * separate process (so it can be SIGKILLed), started with the same Node and
 * the CLI's main.ts.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { createInterface } from "node:readline"

/**
 * The `cairn` program's entry, for starting nodes as processes. It lives in app/, the composition root above this
 * runtime: runtime-node starts it as a process and never imports it.
 */
export const cliMain = join(import.meta.dirname, "..", "..", "..", "app", "src", "cli", "main.ts")

export interface LocalNodeSpec {
  readonly id: string
  readonly dataDir: string
  readonly apiPort: number
  readonly peerPort: number
  readonly s3Port: number
  /** The web console's port; undefined: the server's default (--console-listen). */
  readonly consolePort?: number
  /** The Kafka listener's port; undefined: the server's default (--kafka-listen). */
  readonly kafkaPort?: number
}

export interface LocalCluster {
  readonly nodes: ReadonlyArray<LocalNodeSpec>
  readonly peers: string
  readonly apiPeers: string
  readonly secret: string
  readonly credentials: { readonly accessKey: string; readonly secretKey: string }
}

export const planCluster = (options: {
  readonly nodes: number
  readonly dataRoot: string
  readonly apiBase: number
  readonly peerBase: number
  readonly s3Base: number
  /** Console port of n1 (n2 gets +1, ...); undefined: each node's default. */
  readonly consoleBase?: number
  readonly secret: string
  readonly credentials: { readonly accessKey: string; readonly secretKey: string }
  /** Per node, in order, its API, peer and S3 ports (e.g. from `freeLoopbackPorts(3 * nodes)`); overrides the bases. */
  readonly ports?: ReadonlyArray<number>
  /** Kafka port of n1 (n2 gets +1, ...), or each node's; undefined: each node's default. */
  readonly kafka?: number | ReadonlyArray<number>
}): LocalCluster => {
  const port = (i: number, which: 0 | 1 | 2, base: number) => options.ports === undefined ? base + i : options.ports[3 * i + which]!
  const nodes = Array.from({ length: options.nodes }, (_, i) => ({
    id: `n${i + 1}`,
    dataDir: join(options.dataRoot, `n${i + 1}`),
    apiPort: port(i, 0, options.apiBase),
    peerPort: port(i, 1, options.peerBase),
    s3Port: port(i, 2, options.s3Base),
    ...(options.consoleBase === undefined ? {} : { consolePort: options.consoleBase + i }),
    ...(options.kafka === undefined ? {} : { kafkaPort: typeof options.kafka === "number" ? options.kafka + i : options.kafka[i]! })
  }))
  return {
    nodes,
    peers: nodes.map((n) => `${n.id}=127.0.0.1:${n.peerPort}`).join(","),
    apiPeers: nodes.map((n) => `${n.id}=127.0.0.1:${n.apiPort}`).join(","),
    secret: options.secret,
    credentials: options.credentials
  }
}

/** Arguments of `cairn server` for one node of the cluster. */
export const serverArgs = (cluster: LocalCluster, node: LocalNodeSpec, extra: ReadonlyArray<string> = []): Array<string> => [
  "server",
  "--id",
  node.id,
  "--data-dir",
  node.dataDir,
  "--peers",
  cluster.peers,
  "--api-listen",
  `127.0.0.1:${node.apiPort}`,
  "--s3-listen",
  `127.0.0.1:${node.s3Port}`,
  "--api-peers",
  cluster.apiPeers,
  ...(node.consolePort === undefined ? [] : ["--console-listen", `127.0.0.1:${node.consolePort}`]),
  ...(node.kafkaPort === undefined ? [] : ["--kafka-listen", `127.0.0.1:${node.kafkaPort}`]),
  ...extra
]

/** Starts `cairn <args>` as a child process; every output line goes to `onLine`. */
export const spawnCairn = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined>,
  onLine: (line: string, stream: "stdout" | "stderr") => void
): ChildProcess => {
  // CAIRN_CPU_PROFILE_DIR: each server writes a V8 CPU profile there when it exits (benchmarks' profiling).
  const profileDir = process.env["CAIRN_CPU_PROFILE_DIR"]
  const nodeArgs = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
  const child = spawn(process.execPath, [...nodeArgs, cliMain, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  createInterface({ input: child.stdout! }).on("line", (l) => onLine(l, "stdout"))
  createInterface({ input: child.stderr! }).on("line", (l) => onLine(l, "stderr"))
  return child
}

export const clusterEnv = (cluster: LocalCluster): Record<string, string> => ({
  CAIRN_CLUSTER_SECRET: cluster.secret,
  CAIRN_ACCESS_KEY: cluster.credentials.accessKey,
  CAIRN_SECRET_KEY: cluster.credentials.secretKey
})

/** Resolves when the child has exited (at once if it already has). */
export const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", () => r()))
