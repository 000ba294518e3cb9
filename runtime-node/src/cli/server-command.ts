/**
 * `cairn server`: starts one node. Configuration comes from the embedded
 * defaults, `--config FILE` (JSON), `CAIRN_*` variables and flags, in that
 * order of precedence (flags win); see docs/server.md.
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { rawFromConfigFile, rawFromEnv, rawFromFlags, resolveConfig, ServerConfigError } from "../server/config.ts"
import { runServer } from "../server/server.ts"

const text = (name: string, description: string) => Flag.String(name).pipe(Flag.optional, Flag.withDescription(description))

export const serverFlags = {
  config: text("config", "JSON configuration file (keys as in docs/server.md: id, dataDir, peers, ...)"),
  id: text("id", "this node's id (default n1)"),
  dataDir: text("data-dir", "data directory (default ./data)"),
  peers: text("peers", "the initial cluster: id=host:port,... of every node's peer address (default: just this node)"),
  peerListen: text("peer-listen", "where to accept peer connections (default: this node's entry in --peers, else 127.0.0.1:9200)"),
  apiListen: text("api-listen", "HTTP API address (default 127.0.0.1:9100)"),
  otlpEndpoint: text("otlp-endpoint", "OTLP/HTTP base URL for tracing spans, e.g. http://127.0.0.1:4318 (default: off)"),
  s3Listen: text("s3-listen", "S3 API address (default 127.0.0.1:9000)"),
  consoleListen: text("console-listen", "web console address (default 127.0.0.1:9001); HTTPS with the API's certificate when --api-tls-cert is set"),
  consoleShareEndpoint: text("console-share-endpoint", "the S3 address the console's share links name, e.g. https://s3.example.com, when browsers reach S3 through a proxy or NAT (default: --s3-listen's address)"),
  consoleReportsDir: text("console-reports-dir", "the folder whose simulation and Jepsen HTML reports the console lists (default ./reports, where cairn jepsen writes)"),
  s3Region: text("s3-region", "the region S3 clients sign for (default us-east-1)"),
  s3TlsCert: text("s3-tls-cert", "PEM certificate file: serve S3 over HTTPS (with --s3-tls-key)"),
  s3TlsKey: text("s3-tls-key", "PEM private key file for --s3-tls-cert"),
  ec: text("ec", "K+M: the erasure scheme a new cluster stores objects with, e.g. 3+2 (default: 2+1 for 3 nodes, 3+2 for 5; fixed once chosen)"),
  zone: text("zone", "this node's failure domain (rack, zone or host name): shards of a stripe spread over zones before nodes (default: every node its own)"),
  capacityWeight: text("capacity-weight", "this node's relative capacity: a node of weight 2 gets about twice the shards of one of weight 1 (default 1); a change rebalances"),
  rebalanceMaxInFlight: text("rebalance-max-in-flight", "shard moves rebalancing runs at once when this node leads (default 4)"),
  rebalanceBytesPerSecond: text("rebalance-bytes-per-second", "bytes per second rebalancing copies when this node leads (default 33554432: 32 MiB/s)"),
  lifecycleDaySeconds: text("lifecycle-day-seconds", "TEST ONLY: an S3 lifecycle \"day\" lasts this many seconds (as Ceph RGW's rgw_lc_debug_interval), so expiry tests run in seconds (default: a real day)"),
  writeSpareShards: text("write-spare-shards", "shards beyond K a put must store before it is acknowledged, capped at M (default 0: puts go on while up to M nodes are down; M: every shard)"),
  s3Domains: text("s3-domains", "domain1,domain2: accept virtual-host-style S3 requests for bucket.<domain> (path style always works)"),
  apiPeers: text("api-peers", "id=host:port,... of each node's HTTP API, for leader hints"),
  clusterSecret: text("cluster-secret", "shared secret peers authenticate with (generated for a single node if unset)"),
  join: Flag.Boolean("join").pipe(Flag.withDefault(false), Flag.withDescription("join an existing cluster (this node is not one of the initial voters)")),
  logLevel: text("log-level", "debug, info, warn or error (default info)"),
  accessLog: text("access-log", "S3 access log, one JSON line per request: stderr, or a file to append to (default: off)"),
  requestTimeoutMs: text("request-timeout-ms", "how long a write or linearizable read may wait (default 5000)"),
  metricsPublic: Flag.Boolean("metrics-public").pipe(Flag.withDefault(false), Flag.withDescription("serve /metrics without credentials (default: it needs them, like every route but /health and /ready)")),
  kafkaListen: text("kafka-listen", "Kafka protocol address (default 127.0.0.1:9092; advertised to clients, a wildcard host as this node's --api-peers host); docs/kafka.md"),
  kafka: Flag.Boolean("kafka").pipe(Flag.optional, Flag.withDescription("serve the Kafka protocol (default on with the log; --no-kafka: no Kafka listener)")),
  kafkaSasl: Flag.Boolean("kafka-sasl").pipe(Flag.optional, Flag.withDescription("Kafka clients authenticate with SASL PLAIN: an S3 access key as username, its secret as password (default off: anonymous, loopback only)")),
  log: Flag.Boolean("log").pipe(Flag.optional, Flag.withDescription("run the streaming log (default on; --no-log: no log partitions, /v1/log answers 501; docs/log.md)")),
  apiTlsCert: text("api-tls-cert", "PEM certificate file: serve the KV HTTP API over HTTPS (with --api-tls-key)"),
  apiTlsKey: text("api-tls-key", "PEM private key file for --api-tls-cert"),
  peerTlsCert: text("peer-tls-cert", "PEM certificate of this node for mutual TLS between peers (with --peer-tls-key and --peer-tls-ca)"),
  peerTlsKey: text("peer-tls-key", "PEM private key file for --peer-tls-cert"),
  peerTlsCa: text("peer-tls-ca", "PEM CA certificate(s) that sign every peer's certificate"),
  maxInflightRequests: text("max-inflight-requests", "requests served at once per listener (S3, KV API); more wait in the queue (default 512)"),
  maxInflightBytes: text("max-inflight-bytes", "declared body bytes served at once per listener (default 1073741824)"),
  maxClientInflight: text("max-client-inflight", "requests served at once for one client (its access key, else its address) per listener, and as many queued (default 128)"),
  maxClientInflightBytes: text("max-client-inflight-bytes", "declared body bytes served at once for one client per listener (default 268435456)"),
  maxQueuedRequests: text("max-queued-requests", "requests waiting for admission per listener; beyond it 503 SlowDown (default 1024)"),
  queueTimeoutMs: text("queue-timeout-ms", "how long a request may wait for admission before 503 SlowDown (default 2000)"),
  maxConnections: text("max-connections", "open connections per listener; beyond it the oldest idle one is closed, or the new one if none is idle (default 10000)"),
  headerTimeoutMs: text("header-timeout-ms", "a request's headers must arrive within this (slowloris); also the body-rate window (default 10000)"),
  idleTimeoutMs: text("idle-timeout-ms", "an idle keep-alive connection is closed after this (default 30000)"),
  minBodyBytesPerSecond: text("min-body-bytes-per-second", "a request body arriving slower than this is cut (default 1024)")
}

/** Flags and environment to a validated configuration (exported for the tests and `cairn dev`). */
export const configFromFlags = (
  flags: {
    readonly [K in keyof typeof serverFlags]: K extends "join" | "metricsPublic" ? boolean : K extends "log" | "kafka" | "kafkaSasl" ? Option.Option<boolean> : Option.Option<string>
  },
  env: Record<string, string | undefined>
) => {
  const configPath = Option.getOrUndefined(flags.config) ?? env.CAIRN_CONFIG
  const file = configPath === undefined ? {} : rawFromConfigFile(configPath)
  if (file instanceof ServerConfigError) return file
  const get = (o: Option.Option<string>) => Option.getOrUndefined(o)
  return resolveConfig(
    file,
    rawFromEnv(env),
    rawFromFlags({
      id: get(flags.id),
      dataDir: get(flags.dataDir),
      peers: get(flags.peers),
      peerListen: get(flags.peerListen),
      apiListen: get(flags.apiListen),
      otlpEndpoint: get(flags.otlpEndpoint),
      s3Listen: get(flags.s3Listen),
      consoleListen: get(flags.consoleListen),
      consoleShareEndpoint: get(flags.consoleShareEndpoint),
      consoleReportsDir: get(flags.consoleReportsDir),
      s3Region: get(flags.s3Region),
      s3TlsCert: get(flags.s3TlsCert),
      s3TlsKey: get(flags.s3TlsKey),
      s3Domains: get(flags.s3Domains),
      ec: get(flags.ec),
      writeSpareShards: get(flags.writeSpareShards),
      zone: get(flags.zone),
      capacityWeight: get(flags.capacityWeight),
      rebalanceMaxInFlight: get(flags.rebalanceMaxInFlight),
      rebalanceBytesPerSecond: get(flags.rebalanceBytesPerSecond),
      lifecycleDaySeconds: get(flags.lifecycleDaySeconds),
      apiPeers: get(flags.apiPeers),
      clusterSecret: get(flags.clusterSecret),
      join: flags.join ? "true" : undefined,
      logLevel: get(flags.logLevel),
      accessLog: get(flags.accessLog),
      requestTimeoutMs: get(flags.requestTimeoutMs),
      metricsPublic: flags.metricsPublic ? "true" : undefined,
      log: Option.getOrUndefined(Option.map(flags.log, String)),
      kafkaListen: get(flags.kafkaListen),
      kafka: Option.getOrUndefined(Option.map(flags.kafka, String)),
      kafkaSasl: Option.getOrUndefined(Option.map(flags.kafkaSasl, String)),
      apiTlsCert: get(flags.apiTlsCert),
      apiTlsKey: get(flags.apiTlsKey),
      peerTlsCert: get(flags.peerTlsCert),
      peerTlsKey: get(flags.peerTlsKey),
      peerTlsCa: get(flags.peerTlsCa),
      maxInflightRequests: get(flags.maxInflightRequests),
      maxInflightBytes: get(flags.maxInflightBytes),
      maxClientInflight: get(flags.maxClientInflight),
      maxClientInflightBytes: get(flags.maxClientInflightBytes),
      maxQueuedRequests: get(flags.maxQueuedRequests),
      queueTimeoutMs: get(flags.queueTimeoutMs),
      maxConnections: get(flags.maxConnections),
      headerTimeoutMs: get(flags.headerTimeoutMs),
      idleTimeoutMs: get(flags.idleTimeoutMs),
      minBodyBytesPerSecond: get(flags.minBodyBytesPerSecond)
    })
  )
}

export const serverCommand = Command.make("server", serverFlags, (flags) =>
  Effect.gen(function*() {
    const config = configFromFlags(flags, process.env)
    if (config instanceof ServerConfigError) return yield* config
    yield* runServer(config)
  })).pipe(Command.withDescription("run a Cairn node: the replicated KV store and its HTTP API (docs/server.md)"))
