/**
 * Prometheus metrics (prom-client, text format on `/metrics`): Raft state
 * read at scrape time, HTTP request counts/latency/bytes, errors, and the
 * latency of every disk fsync (the WAL's durability cost) through a Disk
 * wrapper. One registry per server, so tests can run several in a process.
 *
 * Process and Node.js metrics (prom-client's default set: CPU, memory, heap,
 * event-loop lag, GC, handles) describe the process, not a server: they are
 * collected once per process and the same metric objects are registered in
 * every server's registry, so a second server in one process neither fails
 * on duplicate names nor starts a second set of GC and event-loop monitors.
 */
import { Disk, type DiskFile, type DiskShape } from "@cairn/core"
import { Effect, Layer } from "effect"
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Metric, Registry } from "prom-client"

export interface RaftSnapshot {
  readonly role: string
  readonly term: number
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  readonly hasLeader: boolean
}

export interface ServerMetrics {
  readonly registry: Registry
  readonly requests: Counter<"method" | "route" | "code">
  readonly requestSeconds: Histogram<"method" | "route">
  readonly bytesIn: Counter
  readonly bytesOut: Counter
  readonly errors: Counter<"kind">
  readonly fsyncSeconds: Histogram
  /** `cairn_disk_backend{backend}` = 1 for the Disk the node runs on, set once the disk layer has chosen. */
  readonly setDiskBackend: (backend: "io_uring" | "libuv") => void
}

const roles = ["follower", "pre-candidate", "candidate", "leader"] as const

let processRegistry: Registry | undefined

/** prom-client's default process and Node.js metrics, collected once per process. */
const processMetrics = (): ReadonlyArray<Metric> => {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  const registry = processRegistry
  return registry.getMetricsAsArray().map((m) => registry.getSingleMetric(m.name)!)
}

export const makeMetrics = (status: () => RaftSnapshot | undefined): ServerMetrics => {
  const registry = new Registry()
  for (const metric of processMetrics()) registry.registerMetric(metric)
  const gauge = (name: string, help: string, read: (s: RaftSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const s = status()
        if (s !== undefined) this.set(read(s))
      }
    })
  gauge("cairn_raft_term", "Current Raft term", (s) => s.term)
  gauge("cairn_raft_commit_index", "Highest log index known committed", (s) => s.commit)
  gauge("cairn_raft_applied_index", "Highest log index applied to the KV state machine", (s) => s.applied)
  gauge("cairn_raft_last_index", "Last index in this node's log", (s) => s.lastIndex)
  gauge("cairn_raft_apply_lag", "Committed entries not yet applied (commit - applied)", (s) => s.commit - s.applied)
  gauge("cairn_raft_has_leader", "1 if this node knows a leader", (s) => (s.hasLeader ? 1 : 0))
  new Gauge({
    name: "cairn_raft_role",
    help: "1 for this node's current Raft role",
    labelNames: ["role"],
    registers: [registry],
    collect() {
      const s = status()
      if (s === undefined) return
      for (const r of roles) this.set({ role: r }, s.role === r ? 1 : 0)
    }
  })
  const diskBackend = new Gauge({
    name: "cairn_disk_backend",
    help: "1 for the Disk implementation this node runs on: io_uring, or libuv (the fallback when io_uring cannot be set up)",
    labelNames: ["backend"],
    registers: [registry]
  })
  return {
    registry,
    setDiskBackend: (backend) => {
      diskBackend.reset()
      diskBackend.set({ backend }, 1)
    },
    requests: new Counter({ name: "cairn_http_requests_total", help: "HTTP requests by route and status", labelNames: ["method", "route", "code"], registers: [registry] }),
    requestSeconds: new Histogram({
      name: "cairn_http_request_duration_seconds",
      help: "HTTP request latency",
      labelNames: ["method", "route"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry]
    }),
    bytesIn: new Counter({ name: "cairn_http_request_bytes_total", help: "Request body bytes received", registers: [registry] }),
    bytesOut: new Counter({ name: "cairn_http_response_bytes_total", help: "Response body bytes sent", registers: [registry] }),
    errors: new Counter({ name: "cairn_errors_total", help: "Errors by kind (not_leader, timeout, bad_request, internal, ...)", labelNames: ["kind"], registers: [registry] }),
    fsyncSeconds: new Histogram({
      name: "cairn_disk_fsync_duration_seconds",
      help: "Latency of each file sync (WAL, Raft hard state, snapshots, shard files; not directory syncs)",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry]
    })
  }
}

/** Wraps the Disk below it so every `sync` is timed into `cairn_disk_fsync_duration_seconds`. */
export const timedDiskLayer = (metrics: ServerMetrics): Layer.Layer<Disk, never, Disk> =>
  Layer.effect(
    Disk,
    Effect.gen(function*() {
      const disk = yield* Disk
      const wrap = (file: DiskFile): DiskFile => ({
        ...file,
        sync: Effect.suspend(() => {
          const end = metrics.fsyncSeconds.startTimer()
          return Effect.ensuring(file.sync, Effect.sync(() => void end()))
        })
      })
      const timed: DiskShape = { ...disk, open: (path, mode) => Effect.map(disk.open(path, mode), wrap) }
      return timed
    })
  )
