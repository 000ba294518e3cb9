/**
 * One `cairn server` process: the KV node (Raft + WAL over the OS services),
 * the object layer (shards on this node's disk, metadata through Raft), the
 * streaming log (unless `--no-log`: its partitions' Raft groups under
 * `<dataDir>/log`, its HTTP API under `/v1/log`, and the Kafka protocol on
 * `--kafka-listen` unless `--no-kafka`), the S3 API, the HTTP API,
 * membership sync, metrics and logs, run until interrupted.
 *
 * Shutdown (SIGINT/SIGTERM interrupt the main fiber; resources close in
 * reverse order): the HTTP listener stops accepting, in-flight requests get
 * up to 10 s to finish, idle keep-alive connections close; then the Raft
 * loop stops and the WAL and the peer network close with their scope; with
 * tracing on, the last spans are flushed to the collector (at most 3 s);
 * last, the data directory's lock is released.
 */
import { Network, type NodeId } from "@cairn/core"
import { Crc32c } from "@cairn/core/checksum/crc32c-service"
import { makeNodeLogClient } from "@cairn/core/log/client/node-log-client"
import { makeStorageNode, type StorageNode } from "@cairn/core/node/storage-node"
import { Clock } from "@cairn/core/clock/clock"
import { DAY_MS } from "@cairn/core/s3/lifecycle/dates"
import { type LifecycleSettings, makeLifecycleWorker } from "@cairn/core/s3/lifecycle/worker"
import { makeUsers, type Users } from "@cairn/core/s3/users"
import { Data, Effect, Fiber, Layer, References, type Scope } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { NativeCrc32cLive } from "../checksum/native-crc32c.ts"
import { SystemClockLive } from "../clock/system-clock.ts"
import { diskLayer } from "../disk/io-uring-disk.ts"
import type { PeerAddress } from "../network/tcp-network.ts"
import { SystemRandomLive } from "../random/system-random.ts"
import { NodeDigestLive } from "../s3/digest.ts"
import { startKafka } from "../kafka/kafka-node.ts"
import { startS3Listener, type S3Listener } from "../s3/listener.ts"
import { startConsoleListener } from "../console/listener.ts"
import { type ReadScheme, schemeReader } from "../console/erasure-scheme.ts"
import { s3EndpointOf } from "../console/share-link.ts"
import { loopbackOrigin } from "../console/upstream.ts"
import type { OwnedBucket } from "../console/user-buckets.ts"
import { type MetricSampler, startMetricSampler } from "../console/metric-sampler.ts"
import { clusterNetwork } from "./cluster-network.ts"
import { formatHostPort, type ServerConfig } from "./config.ts"
import { openDataDir } from "./data-dir.ts"
import { DATA_DIR_FORMAT } from "./data-format.ts"
import { makeApiHandler } from "./http-api.ts"
import { startKvListener } from "./kv-listener.ts"
import { effectLogLevel, jsonLoggerLayer, log, setLogLevel } from "../log/log.ts"
import { makeLifecycleMetrics } from "./lifecycle-metrics.ts"
import { makeMembers } from "./members.ts"
import { nodeFacts } from "./node-facts.ts"
import { rebalanceView } from "./rebalance-view.ts"
import { makeWeights } from "./weights.ts"
import { makeZones } from "./zones.ts"
import { makeMetrics, timedDiskLayer, type RaftSnapshot } from "./metrics.ts"
import { startObservability } from "./observability.ts"
import { makeOverloadMetrics } from "./overload-metrics.ts"
import { credentialsFile, storedClusterSecret, storedCredentials } from "./secrets.ts"
import type { SweepEvent } from "./storage-metrics.ts"
import { readApiTls, readPeerTls } from "./tls-files.ts"
import { tracingLayer, type TracingOptions } from "./tracing.ts"

/** The server could not start (not a configuration value problem: a port in use, a missing secret...). */
export class ServerStartError extends Data.TaggedError("ServerStartError")<{
  readonly message: string
  /** 2 for a usage problem the operator must fix in the configuration, 1 otherwise. */
  readonly exitCode: 1 | 2
}> {}

export interface RunningServer {
  readonly apiAddress: PeerAddress
  readonly s3Address: PeerAddress
  /** The web console's URL; undefined when its default address was taken (see startConsole). */
  readonly consoleUrl: string | undefined
}

/**
 * The web console, forwarding to this node's own S3 and KV API listeners.
 * It is not storage: when its default address is taken the node runs
 * without it (a warning says why); an address the operator chose that is
 * taken stops the start, like any other listener.
 */
const startConsole = (
  config: ServerConfig,
  node: {
    readonly users: Users
    readonly apiAddress: PeerAddress
    readonly apiTls: { readonly cert: Buffer; readonly key: Buffer } | undefined
    readonly s3: S3Listener
    readonly metrics: MetricSampler
    readonly erasureScheme: ReadScheme
    readonly listBuckets: () => Promise<ReadonlyArray<OwnedBucket>>
  }
): Effect.Effect<string | undefined, ServerStartError, Scope.Scope> => {
  const s3Certificate = config.s3Tls === undefined ? undefined : readFileSync(config.s3Tls.certPath)
  return startConsoleListener({
    nodeId: config.id,
    address: config.consoleListen.address,
    users: node.users,
    region: config.s3Region,
    s3: { origin: loopbackOrigin(node.s3.scheme, node.s3.address), ...(s3Certificate === undefined ? {} : { certificate: s3Certificate }) },
    s3Endpoint: s3EndpointOf(node.s3.scheme, node.s3.address, config.consoleShareEndpoint),
    api: { origin: loopbackOrigin(node.apiTls === undefined ? "http" : "https", node.apiAddress), ...(node.apiTls === undefined ? {} : { certificate: node.apiTls.cert }) },
    apiScheme: node.apiTls === undefined ? "http" : "https",
    metrics: node.metrics,
    erasureScheme: node.erasureScheme,
    listBuckets: node.listBuckets,
    reportsDir: config.consoleReportsDir,
    ...(node.apiTls === undefined ? {} : { tls: node.apiTls })
  }).pipe(
    Effect.map((listener): string | undefined => listener.url),
    Effect.catchTag("ConsoleListenerError", (e) =>
      e.inUse && !config.consoleListen.explicit
        ? Effect.sync(() => {
          log("warn", "the web console did not start: its default address is taken; set --console-listen to serve it elsewhere", { error: e.message })
          return undefined
        })
        : Effect.fail(new ServerStartError({ message: `${e.message} (set --console-listen to another address)`, exitCode: 1 })))
  )
}

/** Runs the server until interrupted. `onReady` is called once the API listens. */
export const runServer = (
  config: ServerConfig,
  onReady?: (running: RunningServer) => void,
  tracing: TracingOptions = {}
): Effect.Effect<void, ServerStartError> => {
  setLogLevel(config.logLevel)
  const program = Effect.gen(function*() {
    // Created, locked for this process's life and probed before anything is written there (data-dir.ts).
    const { dir: dataDir, lock, format } = yield* openDataDir(config.dataDir).pipe(
      Effect.mapError((e) => new ServerStartError({ message: e.message, exitCode: e.exitCode }))
    )
    if (format.found === "before-format-file" || format.found === "older") log("info", "data directory format recorded", { found: format.found, version: format.version, now: DATA_DIR_FORMAT })
    if (lock.kind === "pid-file") log("warn", "data directory locked by a pid file only", { file: lock.name, why: lock.fallbackReason ?? null })
    const multiNode = config.peers.size > 1
    let secret = config.clusterSecret
    if (secret === undefined) {
      if (multiNode) {
        return yield* new ServerStartError({
          message: "a multi-node cluster needs a shared secret: set --cluster-secret or CAIRN_CLUSTER_SECRET (at least 16 characters, the same on every node)",
          exitCode: 2
        })
      }
      const stored = storedClusterSecret(dataDir)
      secret = stored.secret
      if (stored.generated) log("info", "generated a cluster secret", { file: resolve(dataDir, "cluster-secret") })
    }
    const credentials = config.accessKey !== undefined && config.secretKey !== undefined
      ? { accessKey: config.accessKey, secretKey: config.secretKey, generated: false }
      : storedCredentials(dataDir)
    if (credentials.generated) {
      process.stdout.write(
        `\nGenerated admin credentials (shown once; stored in ${credentialsFile(dataDir)}):\n` +
          `  CAIRN_ACCESS_KEY=${credentials.accessKey}\n  CAIRN_SECRET_KEY=${credentials.secretKey}\n\n`
      )
    }

    // TLS files are checked before anything listens: a bad one is a configuration problem (exit 2).
    const tlsProblem = (e: { readonly message: string }) => new ServerStartError({ message: e.message, exitCode: 2 })
    const apiTls = config.apiTls === undefined ? undefined : yield* readApiTls(config.apiTls).pipe(Effect.mapError(tlsProblem))
    const peerTls = config.peerTls === undefined ? undefined : yield* readPeerTls(config.peerTls).pipe(Effect.mapError(tlsProblem))

    let status: () => RaftSnapshot | undefined = () => undefined
    const metrics = makeMetrics(() => status())
    let diskBackend: string | null = null
    const disk = timedDiskLayer(metrics).pipe(Layer.provide(diskLayer(dataDir, undefined, (backend) => {
      diskBackend = backend
      metrics.setDiskBackend(backend)
    })))

    return yield* Effect.scoped(
      Effect.gen(function*() {
        const net = yield* clusterNetwork({ self: config.id, peers: config.peers, secret: secret!, listen: config.peerListen, tls: peerTls }).pipe(
          Effect.mapError((e) => new ServerStartError({ message: `cannot listen on --peer-listen ${e.host}:${e.port}: ${e.message}`, exitCode: 1 }))
        )
        const voters = [...config.peers.keys()].filter((id) => !(config.join && id === config.id))
        // Metrics count the object layer's sweeps once observability (which reads the KV server) is
        // up; the sweeps run in its background loops, forked after that.
        let onSweep: (event: SweepEvent) => void = () => {}
        // Shards go to the members of the configuration this node has applied, spread over their zones
        // (each node its own domain until the zone records are read; see zones.ts).
        let domainOf = (id: string) => `node:${id}`
        // Capacity weights likewise (weights.ts): 1 until the records are read.
        let weightOf = (_id: string) => 1
        // Draining members (members.ts) get no new shards, and repair moves theirs away.
        let isDraining = (_id: string) => false
        const placementMembers = () =>
          Effect.runSync(storage.kv.raft.status).members.filter((id) => !isDraining(id)).map((id) => ({ id, domain: domainOf(id), weight: weightOf(id) }))
        const storage: StorageNode = yield* Effect.gen(() =>
          makeStorageNode({
            id: config.id,
            voters: voters as ReadonlyArray<NodeId>,
            kv: { dataDir: "raft" },
            // The streaming log's partitions, each a Raft group with its own WAL, under <dataDir>/log.
            ...(config.log ? { log: { dataDir: "log" } } : {}),
            objects: {
              members: placementMembers,
              rebalance: config.rebalance,
              onSweep: (event) => onSweep(event),
              spareShards: config.writeSpareShards,
              ...(config.ec === undefined ? {} : { scheme: config.ec })
            }
          })
        ).pipe(
          Effect.provideService(Network, net.network),
          Effect.catchTags({
            RaftStorageError: (e) => Effect.fail(new ServerStartError({ message: `cannot open the Raft log in ${dataDir}/raft: ${e.message}`, exitCode: 1 })),
            ShardReadError: (e) => Effect.fail(new ServerStartError({ message: `cannot open the shard store in ${dataDir}/shards: ${e.message}`, exitCode: 1 }))
          })
        )
        const { kv, objects: objectNode } = storage
        status = () => {
          const s = Effect.runSync(kv.raft.status)
          return { role: s.role, term: s.term, commit: s.commit, applied: s.applied, lastIndex: s.lastIndex, hasLeader: s.leader !== undefined }
        }
        const runFiber = yield* Effect.forkScoped(storage.run)
        // The HTTP log API's client: it reaches every partition's replicas over this node's transport.
        const logClient = storage.log === undefined
          ? undefined
          : yield* makeNodeLogClient(storage.frames, {
            nodes: [...config.peers.keys()] as ReadonlyArray<NodeId>,
            // Its requests to this node skip the network (and the frame's encoding and checksums).
            local: { self: config.id, serve: storage.log.serve }
          }).pipe(Effect.provideService(Network, net.network))
        const observability = yield* startObservability({ config, dataDir, kv, metrics }).pipe(
          Effect.mapError((e) => new ServerStartError({ message: e.message, exitCode: 1 }))
        )
        onSweep = observability.onSweep
        yield* Effect.forkScoped(Effect.withTracerEnabled(objectNode.background, false))
        // S3 lifecycle (docs/s3.md#lifecycle): a pass over the buckets' rules while this node leads.
        const lifecycle = makeLifecycleWorker({ store: objectNode.store, kv: objectNode.kv, clock: yield* Clock, ...lifecycleSettings(config.lifecycleDaySeconds) })
        const isLeader = Effect.map(kv.raft.status, (s) => s.role === "leader")
        const lifecycleMetrics = makeLifecycleMetrics(metrics.registry, () => Effect.runSync(isLeader))
        yield* Effect.forkScoped(Effect.withTracerEnabled(lifecycle.loop(isLeader, lifecycleMetrics.onStep, (e) => log("warn", "lifecycle pass interrupted; the next interval resumes it", { error: e.message })), false))
        const s3Users = makeUsers(objectNode.kv, credentials)
        const zones = makeZones({ self: config.id, zone: config.zone, requestTimeoutMs: config.requestTimeoutMs }, kv)
        domainOf = zones.domainOf
        yield* Effect.forkScoped(Effect.withTracerEnabled(zones.sync, false))
        const weights = makeWeights({ self: config.id, weight: config.capacityWeight, requestTimeoutMs: config.requestTimeoutMs }, kv)
        weightOf = weights.weightOf
        yield* Effect.forkScoped(Effect.withTracerEnabled(weights.sync, false))
        const members = makeMembers(config, kv, net, {
          zoneOf: (id) => zones.all().get(id),
          weightOf: weights.weightOf,
          rebalance: () => Effect.runPromise(rebalanceView(objectNode.rebalancer, placementMembers)),
          // A drain moves shards at once rather than at the next periodic sweep (this node leads: admin changes go to the leader).
          afterDrain: () =>
            void Effect.runFork(Effect.withTracerEnabled(Effect.ignore(Effect.tap(objectNode.repairer.sweep, (r) => Effect.sync(() => onSweep({ kind: "repair", report: r })))), false))
        })
        isDraining = members.isDraining
        // Its reads run twice a second: not worth a span each.
        yield* Effect.forkScoped(Effect.withTracerEnabled(members.sync, false))

        // The console's charts: sampled here, shown by this node's console and, through the KV API, by the others'.
        const metricHistory = yield* startMetricSampler(config.id, metrics.registry)
        const services = yield* Effect.context<never>()
        const checksum = yield* Crc32c
        const overload = makeOverloadMetrics(metrics.registry)
        const apiAddress = yield* startKvListener({
          limits: config.overload,
          watchOverload: (stats) => overload.watch("kv", stats),
          handler: makeApiHandler({
            config,
            kv,
            metrics,
            credentials,
            members,
            services,
            s3Users,
            metadata: objectNode.kv,
            log: logClient,
            metricHistory,
            nodeFacts: nodeFacts({ kvRaft: kv.raft, partitions: () => storage.log?.replicas() ?? new Map(), topics: () => storage.log?.topics() ?? new Map(), diskBackend: () => diskBackend })
          }),
          address: config.apiListen,
          ...(apiTls === undefined ? {} : { tls: apiTls })
        }).pipe(Effect.mapError((e) => new ServerStartError({ message: e.message, exitCode: 1 })))
        log("info", "cairn server started", {
          id: config.id,
          api: `${apiTls === undefined ? "http" : "https"}://${formatHostPort(apiAddress)}`,
          peerTls: peerTls !== undefined,
          peer: formatHostPort(config.peerListen),
          peers: Object.fromEntries([...config.peers].map(([id, a]) => [id, formatHostPort(a)])),
          voters,
          dataDir,
          // "native", or "pure (native unavailable: why)": the CRC32C of object data, S3 checksums and peer frames.
          crc32c: checksum.implementation,
          join: config.join,
          otlpEndpoint: config.otlpEndpoint ?? null
        })
        const s3 = yield* startS3Listener({
          store: objectNode.store,
          users: s3Users,
          address: config.s3Listen,
          region: config.s3Region,
          baseDomains: config.s3Domains,
          onExchange: observability.onExchange,
          limits: config.overload,
          ...(config.s3Tls === undefined ? {} : { tls: config.s3Tls })
        }).pipe(
          Effect.provide(NodeDigestLive),
          Effect.mapError((e) => new ServerStartError({ message: e.message, exitCode: 1 }))
        )
        // The Kafka protocol over the same log client (docs/kafka.md); off with --no-kafka or --no-log.
        if (config.kafka && storage.log !== undefined && logClient !== undefined) {
          yield* startKafka({ config, kv, logNode: storage.log, logClient, zoneOf: (id) => zones.all().get(id), users: s3Users }).pipe(
            Effect.mapError((e) => new ServerStartError({ message: `${e.message} (set --kafka-listen to another address, or --no-kafka)`, exitCode: 1 }))
          )
        }
        const erasureScheme = schemeReader(objectNode.kv, () => Effect.runSync(kv.raft.status).members.length)
        const consoleUrl = yield* startConsole(config, {
          users: s3Users,
          apiAddress,
          apiTls,
          s3,
          metrics: metricHistory,
          erasureScheme,
          listBuckets: () => Effect.runPromise(objectNode.store.listBuckets)
        })
        observability.setS3InFlight(s3.inFlight)
        overload.watch("s3", s3.overload)
        onReady?.({ apiAddress, s3Address: s3.address, consoleUrl })
        const exit = yield* Fiber.await(runFiber)
        log("error", "the Raft node stopped (storage failure): exiting so it can be restarted and recover from disk", { exit: String(exit) })
        return yield* new ServerStartError({ message: "storage failure; see the log", exitCode: 1 })
      })
    ).pipe(
      // NativeCrc32cLive: the data path's CRC32C (objects, S3, peer frames); the WAL, Raft and the KV keep core's pure one (ADR 0004).
      Effect.provide(Layer.mergeAll(SystemClockLive, SystemRandomLive, NativeCrc32cLive, disk, tracingLayer(config, tracing)))
    )
  })
  return Effect.ensuring(
    program.pipe(Effect.scoped, Effect.provide(jsonLoggerLayer), Effect.provideService(References.MinimumLogLevel, effectLogLevel(config.logLevel))),
    Effect.sync(() => log("info", "cairn server stopped", { id: config.id }))
  )
}

/**
 * The lifecycle worker's timing: a pass an hour after the last, checked every minute; with the
 * test-only `--lifecycle-day-seconds`, days are that long and passes run a tenth of a day apart.
 */
const lifecycleSettings = (daySeconds: number | undefined): LifecycleSettings => {
  if (daySeconds === undefined) return { dayMs: DAY_MS }
  const dayMs = daySeconds * 1000
  const every = Math.max(500, dayMs / 10)
  return { dayMs, intervalMs: every, passEveryMs: every }
}
