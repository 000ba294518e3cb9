/**
 * `cairn server` configuration: an embedded default, then a JSON file
 * (`--config`), then `CAIRN_*` environment variables, then flags — each
 * later source wins per key. Every value is validated with `effect/Schema`;
 * a bad one becomes a `ServerConfigError` whose message names the source
 * (flag, variable or file key) and says what to put there instead.
 */
import { Data, Result, Schema } from "effect"
import { readFileSync } from "node:fs"
import { Objects, type NodeId } from "@cairn/core"
type ErasureScheme = Objects.ErasureScheme
import type { PeerAddress } from "../network/tcp-network.ts"
import { type AccessLogTarget, parseAccessLogTarget } from "./access-log.ts"
import { ZONE_NAME } from "./zones.ts"
import type { LogLevel } from "../log/log.ts"
import { defaultOverloadLimits, type OverloadLimits } from "../overload/limits.ts"

export class ServerConfigError extends Data.TaggedError("ServerConfigError")<{
  readonly message: string
}> {}

export interface ServerConfig {
  readonly id: NodeId
  readonly dataDir: string
  /** The initial cluster (network address book): node id → peer address. Always contains `id`. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>
  /** Where this node accepts peer connections. */
  readonly peerListen: PeerAddress
  readonly apiListen: PeerAddress
  readonly s3Listen: PeerAddress
  /** Where the web console listens; `explicit` when a flag, variable or file set it (then a port in use stops the server). */
  readonly consoleListen: { readonly address: PeerAddress; readonly explicit: boolean }
  /** The S3 address share links name (`https://s3.example.com`), when browsers reach S3 elsewhere than where it listens; undefined: the listener's. */
  readonly consoleShareEndpoint: string | undefined
  /** The folder whose simulation and Jepsen reports the console's Reports page lists (default ./reports, where `cairn jepsen` writes). */
  readonly consoleReportsDir: string
  /** The region S3 clients sign for. */
  readonly s3Region: string
  /** Serve S3 over HTTPS with this PEM certificate and key; undefined: plain HTTP. */
  readonly s3Tls: { readonly certPath: string; readonly keyPath: string } | undefined
  /** Domains under which S3 requests may name the bucket in the host (`bucket.<domain>`). */
  readonly s3Domains: ReadonlyArray<string>
  /** The erasure scheme to propose at bootstrap; undefined: the default for the cluster size. */
  readonly ec: ErasureScheme | undefined
  /** Shards beyond K a put must store before it is acknowledged (capped at M); 0 keeps writes going with up to M nodes down. */
  readonly writeSpareShards: number
  /** This node's failure domain (rack, zone, host) for shard placement; undefined: the node is its own. */
  readonly zone: string | undefined
  /** This node's relative capacity for shard placement (weighted rendezvous hashing); default 1. */
  readonly capacityWeight: number
  /** Rebalancing's throttle (the leader's; see docs/objects.md#adding-a-node): shard moves at once, bytes copied per second. */
  readonly rebalance: { readonly maxInFlight: number; readonly bytesPerSecond: number }
  /** Test-only: the S3 lifecycle's "day" in seconds (as Ceph RGW's rgw_lc_debug_interval); undefined: a real day. */
  readonly lifecycleDaySeconds: number | undefined
  /** Node id → "host:port" of its HTTP API, for leader hints. Always contains `id`. */
  readonly apiPeers: ReadonlyMap<NodeId, string>
  readonly clusterSecret: string | undefined
  readonly accessKey: string | undefined
  readonly secretKey: string | undefined
  /** This node joins an existing cluster: it is not one of the initial voters. */
  readonly join: boolean
  readonly logLevel: LogLevel
  /** The S3 access log: off (undefined), stderr, or a file to append to (see access-log.ts). */
  readonly accessLog: AccessLogTarget | undefined
  /** How long a write or linearizable read may wait before 504 / 503. */
  readonly requestTimeoutMs: number
  /** OTLP/HTTP base URL (spans go to `<url>/v1/traces`); undefined: tracing off. */
  readonly otlpEndpoint: string | undefined
  /** Serve `/metrics` without credentials (every other route but /health and /ready needs them). */
  readonly metricsPublic: boolean
  /** Run the streaming log (its partitions under `<dataDir>/log`, its HTTP API under `/v1/log`); `--no-log` turns it off. */
  readonly log: boolean
  /**
   * The Kafka protocol listener (`--kafka-listen`, default 127.0.0.1:9092; `explicit` when set, then a port in use
   * stops the server) and whether it runs (`--no-kafka`, or `--no-log`, turn it off).
   */
  readonly kafkaListen: { readonly address: PeerAddress; readonly explicit: boolean }
  readonly kafka: boolean
  /** Kafka clients must authenticate with SASL PLAIN (an S3 access key and its secret); without it the listener is anonymous and loopback-only. */
  readonly kafkaSasl: boolean
  /** Serve the KV HTTP API over HTTPS with this PEM certificate and key; undefined: plain HTTP. */
  readonly apiTls: { readonly certPath: string; readonly keyPath: string } | undefined
  /** Mutual TLS between peers: this node's certificate and key, and the CA that signs every peer's; undefined: plain TCP. */
  readonly peerTls: { readonly certPath: string; readonly keyPath: string; readonly caPath: string } | undefined
  /** The S3 and KV listeners' concurrency, queue, connection and slow-client limits (each listener has its own). */
  readonly overload: OverloadLimits
}

/** Raw string values by key, with where each came from (for messages). */
type Raw = Partial<Record<Key, { readonly value: string; readonly source: string }>>

const keys = [
  "id",
  "dataDir",
  "peers",
  "peerListen",
  "apiListen",
  "s3Listen",
  "consoleListen",
  "consoleShareEndpoint",
  "consoleReportsDir",
  "s3Region",
  "s3TlsCert",
  "s3TlsKey",
  "s3Domains",
  "ec",
  "writeSpareShards",
  "zone",
  "capacityWeight",
  "rebalanceMaxInFlight",
  "rebalanceBytesPerSecond",
  "lifecycleDaySeconds",
  "apiPeers",
  "clusterSecret",
  "accessKey",
  "secretKey",
  "join",
  "logLevel",
  "accessLog",
  "requestTimeoutMs",
  "otlpEndpoint",
  "metricsPublic",
  "log",
  "kafkaListen",
  "kafka",
  "kafkaSasl",
  "apiTlsCert",
  "apiTlsKey",
  "peerTlsCert",
  "peerTlsKey",
  "peerTlsCa",
  "maxInflightRequests",
  "maxInflightBytes",
  "maxClientInflight",
  "maxClientInflightBytes",
  "maxQueuedRequests",
  "queueTimeoutMs",
  "maxConnections",
  "headerTimeoutMs",
  "idleTimeoutMs",
  "minBodyBytesPerSecond"
] as const
/** The settings of `OverloadLimits`, one flag each. */
const overloadKeys = ["maxInflightRequests", "maxInflightBytes", "maxClientInflight", "maxClientInflightBytes", "maxQueuedRequests", "queueTimeoutMs", "maxConnections", "headerTimeoutMs", "idleTimeoutMs", "minBodyBytesPerSecond"] as const
type Key = (typeof keys)[number]

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
const envName = (k: string) => `CAIRN_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`

/** Flag name, environment variable and file key of each setting (docs/server.md lists the same). */
export const settingNames: ReadonlyArray<{ readonly key: Key; readonly flag: string; readonly env: string }> = keys.map((
  key
) => ({ key, flag: `--${kebab(key)}`, env: envName(key) }))

export const defaults = {
  id: "n1",
  dataDir: "./data",
  peerListen: "127.0.0.1:9200",
  apiListen: "127.0.0.1:9100",
  s3Listen: "127.0.0.1:9000",
  consoleListen: "127.0.0.1:9001",
  consoleReportsDir: "./reports",
  s3Region: "us-east-1",
  join: "false",
  log: "true",
  kafkaListen: "127.0.0.1:9092",
  kafka: "true",
  kafkaSasl: "false",
  logLevel: "info",
  requestTimeoutMs: "5000",
  writeSpareShards: "0",
  capacityWeight: "1",
  rebalanceMaxInFlight: "4",
  rebalanceBytesPerSecond: String(32 * 1024 * 1024),
  ...Object.fromEntries(overloadKeys.map((k) => [k, String(defaultOverloadLimits[k])])) as Record<(typeof overloadKeys)[number], string>
} as const

// ---- value schemas ------------------------------------------------------------------

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/

/** Parses host:port (IPv6 in brackets). */
export const parseHostPort = (text: string): PeerAddress | undefined => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim())
  if (m === null) return undefined
  const port = Number(m[3])
  if (!(port >= 0 && port < 65536)) return undefined
  return { host: m[1] ?? m[2]!, port }
}

const hostPortIssue = (text: string): string | undefined => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\S+)$/.exec(text.trim())
  if (m === null) return `expected host:port (e.g. 127.0.0.1:9100, [::1]:9100), got "${text}"`
  if (!/^\d{1,5}$/.test(m[3]!) || Number(m[3]) > 65535) return `port must be a number from 0 to 65535, got "${m[3]}"`
  return undefined
}

const HostPort = Schema.String.check(Schema.makeFilter((s: string) => hostPortIssue(s) ?? true))
const NodeIdString = Schema.String.check(
  Schema.makeFilter((s: string) => NODE_ID.test(s) || `node ids are 1-64 letters, digits, "_" or "-"; got "${s}"`)
)

/** Parses `id=host:port,id=host:port`; a message instead of a map on error. */
export const parsePeerList = (text: string): ReadonlyMap<NodeId, PeerAddress> | string => {
  const out = new Map<NodeId, PeerAddress>()
  const items = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  if (items.length === 0) return "expected id=host:port[,id=host:port...], got an empty list"
  for (const item of items) {
    const eq = item.indexOf("=")
    if (eq < 0) return `expected id=host:port, got "${item}" (e.g. n1=127.0.0.1:9200)`
    const id = item.slice(0, eq)
    if (!NODE_ID.test(id)) return `node ids are 1-64 letters, digits, "_" or "-"; got "${id}" in "${item}"`
    const issue = hostPortIssue(item.slice(eq + 1))
    if (issue !== undefined) return `${issue} in "${item}"`
    if (out.has(id as NodeId)) return `node ${id} is listed twice`
    out.set(id as NodeId, parseHostPort(item.slice(eq + 1))!)
  }
  return out
}

const PeerList = Schema.String.check(Schema.makeFilter((s: string) => {
  const r = parsePeerList(s)
  return typeof r === "string" ? r : true
}))
const BooleanString = Schema.String.check(
  Schema.makeFilter((s: string) => ["true", "false", "1", "0", ""].includes(s.trim().toLowerCase()) || `expected true or false, got "${s}"`)
)
const LogLevelString = Schema.String.check(
  Schema.makeFilter((s: string) => ["debug", "info", "warn", "error"].includes(s) || `expected debug, info, warn or error, got "${s}"`)
)
const PositiveIntString = Schema.String.check(
  Schema.makeFilter((s: string) => (/^\d{1,9}$/.test(s.trim()) && Number(s) > 0) || `expected a positive whole number of milliseconds, got "${s}"`)
)
const WholeNumber = Schema.String.check(
  Schema.makeFilter((s: string) => /^\d{1,3}$/.test(s.trim()) || `expected a whole number 0..999, got "${s}"`)
)
/** A positive decimal up to 10000 with at most 3 decimals (1, 2, 0.5): a node's share relative to the others. */
const CapacityWeight = Schema.String.check(
  Schema.makeFilter((s: string) => (/^\d{1,5}(\.\d{1,3})?$/.test(s.trim()) && Number(s) > 0 && Number(s) <= 10_000) || `expected a positive number up to 10000 like 1, 2 or 0.5, got "${s}"`)
)
const PositiveCount = Schema.String.check(
  Schema.makeFilter((s: string) => (/^\d{1,15}$/.test(s.trim()) && Number(s) > 0) || `expected a positive whole number, got "${s}"`)
)
/** An http(s) URL; empty means "off" (so an environment variable can switch off what a file turned on). */
export const otlpEndpointIssue = (s: string): string | undefined => {
  if (s.trim() === "") return undefined
  let url: URL
  try {
    url = new URL(s.trim())
  } catch {
    return `expected an http:// or https:// URL such as http://127.0.0.1:4318, got "${s}"`
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `the OTLP endpoint must be http:// or https:// (OTLP/HTTP), got "${s}"`
  if (url.search !== "" || url.hash !== "") return `the OTLP endpoint takes no query or fragment, got "${s}"`
  return undefined
}
const schemeIssue = (s: string): string | undefined => {
  try {
    Objects.parseScheme(s)
    return undefined
  } catch (e) {
    return (e as Error).message
  }
}
/**
 * The origin share links name: http(s), a host and maybe a port, nothing else. A path cannot be added by a proxy in
 * front of S3 (the signature covers the path), so none is accepted; empty means "the S3 listener's own address".
 */
export const shareEndpointIssue = (s: string): string | undefined => {
  if (s.trim() === "") return undefined
  let url: URL
  try {
    url = new URL(s.trim())
  } catch {
    return `expected an http:// or https:// URL such as https://s3.example.com, got "${s}"`
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `a share endpoint is http:// or https://, got "${s}"`
  if (url.username !== "" || url.password !== "") return `a share endpoint carries no user or password, got "${s}"`
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    return `a share endpoint is an origin only (scheme, host, port), with no path, query or fragment: the link's signature covers its path; got "${s}"`
  }
  return undefined
}
const ShareEndpoint = Schema.String.check(Schema.makeFilter((s: string) => shareEndpointIssue(s) ?? true))
const OtlpEndpoint = Schema.String.check(Schema.makeFilter((s: string) => otlpEndpointIssue(s) ?? true))
const NonEmpty = Schema.String.check(Schema.makeFilter((s: string) => s.length > 0 || "must not be empty"))
const Secret = Schema.String.check(Schema.makeFilter((s: string) => s.length >= 16 || "must be at least 16 characters"))

const valueSchemas: Record<Key, Schema.Codec<string>> = {
  id: NodeIdString,
  dataDir: NonEmpty,
  peers: PeerList,
  peerListen: HostPort,
  apiListen: HostPort,
  s3Listen: HostPort,
  consoleListen: HostPort,
  consoleShareEndpoint: ShareEndpoint,
  consoleReportsDir: NonEmpty,
  s3Region: Schema.String.check(Schema.makeFilter((s: string) => /^[a-z0-9-]{1,64}$/.test(s) || "use lowercase letters, digits and \"-\", like us-east-1")),
  s3TlsCert: NonEmpty,
  s3TlsKey: NonEmpty,
  s3Domains: Schema.String.check(Schema.makeFilter((s: string) => s.split(",").every((d) => /^[a-z0-9.-]*$/i.test(d.trim())) || "a comma-separated list of domain names, like s3.example.com")),
  ec: Schema.String.check(Schema.makeFilter((s: string) => schemeIssue(s) ?? true)),
  writeSpareShards: WholeNumber,
  zone: Schema.String.check(Schema.makeFilter((s: string) => ZONE_NAME.test(s) || `use 1-64 letters, digits, ".", "_" or "-", like eu-west-1a; got "${s}"`)),
  capacityWeight: CapacityWeight,
  rebalanceMaxInFlight: PositiveCount,
  rebalanceBytesPerSecond: PositiveCount,
  lifecycleDaySeconds: PositiveCount,
  apiPeers: PeerList,
  clusterSecret: Secret,
  accessKey: Schema.String.check(Schema.makeFilter((s: string) => /^[A-Za-z0-9_.-]{3,128}$/.test(s) || "use 3-128 letters, digits, \"_\", \".\" or \"-\"")),
  secretKey: Schema.String.check(Schema.makeFilter((s: string) => (s.length >= 8 && s.length <= 256) || "must be 8-256 characters")),
  join: BooleanString,
  logLevel: LogLevelString,
  accessLog: Schema.String,
  requestTimeoutMs: PositiveIntString,
  otlpEndpoint: OtlpEndpoint,
  metricsPublic: BooleanString,
  log: BooleanString,
  kafkaListen: HostPort,
  kafka: BooleanString,
  kafkaSasl: BooleanString,
  apiTlsCert: NonEmpty,
  apiTlsKey: NonEmpty,
  peerTlsCert: NonEmpty,
  peerTlsKey: NonEmpty,
  peerTlsCa: NonEmpty,
  maxInflightRequests: PositiveCount,
  maxInflightBytes: PositiveCount,
  maxClientInflight: PositiveCount,
  maxClientInflightBytes: PositiveCount,
  maxQueuedRequests: PositiveCount,
  queueTimeoutMs: PositiveCount,
  maxConnections: PositiveCount,
  headerTimeoutMs: PositiveCount,
  idleTimeoutMs: PositiveCount,
  minBodyBytesPerSecond: PositiveCount
}

/** The JSON file: every key optional, scalars (peer lists may be arrays), no unknown keys. */
const Scalar = Schema.Union([Schema.String, Schema.Number, Schema.Boolean])
const FileShape = Schema.Struct({
  id: Schema.optionalKey(Schema.String),
  dataDir: Schema.optionalKey(Schema.String),
  peers: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(Schema.String)])),
  peerListen: Schema.optionalKey(Schema.String),
  apiListen: Schema.optionalKey(Schema.String),
  s3Listen: Schema.optionalKey(Schema.String),
  consoleListen: Schema.optionalKey(Schema.String),
  consoleShareEndpoint: Schema.optionalKey(Schema.String),
  consoleReportsDir: Schema.optionalKey(Schema.String),
  s3Region: Schema.optionalKey(Schema.String),
  s3TlsCert: Schema.optionalKey(Schema.String),
  s3TlsKey: Schema.optionalKey(Schema.String),
  s3Domains: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(Schema.String)])),
  ec: Schema.optionalKey(Schema.String),
  writeSpareShards: Schema.optionalKey(Scalar),
  zone: Schema.optionalKey(Schema.String),
  capacityWeight: Schema.optionalKey(Scalar),
  rebalanceMaxInFlight: Schema.optionalKey(Scalar),
  rebalanceBytesPerSecond: Schema.optionalKey(Scalar),
  lifecycleDaySeconds: Schema.optionalKey(Scalar),
  apiPeers: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(Schema.String)])),
  clusterSecret: Schema.optionalKey(Schema.String),
  accessKey: Schema.optionalKey(Schema.String),
  secretKey: Schema.optionalKey(Schema.String),
  join: Schema.optionalKey(Schema.Boolean),
  logLevel: Schema.optionalKey(Schema.String),
  accessLog: Schema.optionalKey(Schema.String),
  requestTimeoutMs: Schema.optionalKey(Scalar),
  otlpEndpoint: Schema.optionalKey(Schema.String),
  metricsPublic: Schema.optionalKey(Schema.Boolean),
  log: Schema.optionalKey(Schema.Boolean),
  kafkaListen: Schema.optionalKey(Schema.String),
  kafka: Schema.optionalKey(Schema.Boolean),
  kafkaSasl: Schema.optionalKey(Schema.Boolean),
  apiTlsCert: Schema.optionalKey(Schema.String),
  apiTlsKey: Schema.optionalKey(Schema.String),
  peerTlsCert: Schema.optionalKey(Schema.String),
  peerTlsKey: Schema.optionalKey(Schema.String),
  peerTlsCa: Schema.optionalKey(Schema.String),
  maxInflightRequests: Schema.optionalKey(Scalar),
  maxInflightBytes: Schema.optionalKey(Scalar),
  maxClientInflight: Schema.optionalKey(Scalar),
  maxClientInflightBytes: Schema.optionalKey(Scalar),
  maxQueuedRequests: Schema.optionalKey(Scalar),
  queueTimeoutMs: Schema.optionalKey(Scalar),
  maxConnections: Schema.optionalKey(Scalar),
  headerTimeoutMs: Schema.optionalKey(Scalar),
  idleTimeoutMs: Schema.optionalKey(Scalar),
  minBodyBytesPerSecond: Schema.optionalKey(Scalar)
})

const firstLine = (message: string) => message.split("\n")[0]!

/** Reads the file's JSON text into raw values; errors name the file and key. */
export const rawFromFile = (path: string, text: string): Raw | ServerConfigError => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return new ServerConfigError({ message: `config file ${path}: not valid JSON (${(e as Error).message})` })
  }
  const decoded = Schema.decodeUnknownResult(FileShape)(json, { onExcessProperty: "error" })
  if (Result.isFailure(decoded)) {
    const message = decoded.failure.message
    const at = /at \["([^"]+)"\]/.exec(message)
    const allowed = keys.join(", ")
    if (at !== null && /excess property/.test(message))
      return new ServerConfigError({ message: `config file ${path}: unknown key "${at[1]}" (known keys: ${allowed})` })
    return new ServerConfigError({
      message: at === null
        ? `config file ${path}: ${firstLine(message)} (the file must hold one JSON object with keys ${allowed})`
        : `config file ${path}: key "${at[1]}": ${firstLine(message)}`
    })
  }
  const raw: Raw = {}
  for (const [key, value] of Object.entries(decoded.success)) {
    const text = Array.isArray(value) ? value.join(",") : String(value)
    raw[key as Key] = { value: text, source: `config file ${path}: key "${key}"` }
  }
  return raw
}

/** Reads and parses the configuration file at `path` (`--config` / `CAIRN_CONFIG`); errors name the file. */
export const rawFromConfigFile = (path: string): Raw | ServerConfigError => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (e) {
    return new ServerConfigError({ message: `config file ${path}: cannot read it (${(e as Error).message})` })
  }
  return rawFromFile(path, text)
}

export const rawFromEnv = (env: Record<string, string | undefined>): Raw => {
  const raw: Raw = {}
  for (const { key, env: name } of settingNames) {
    const value = env[name]
    if (value !== undefined) raw[key] = { value, source: `environment variable ${name}` }
  }
  // The OpenTelemetry SDKs' standard variable, below Cairn's own.
  const otel = env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (raw.otlpEndpoint === undefined && otel !== undefined) raw.otlpEndpoint = { value: otel, source: "environment variable OTEL_EXPORTER_OTLP_ENDPOINT" }
  return raw
}

export const rawFromFlags = (flags: Partial<Record<Key, string | undefined>>): Raw => {
  const raw: Raw = {}
  for (const { key, flag } of settingNames) {
    const value = flags[key]
    if (value !== undefined) raw[key] = { value, source: `flag ${flag}` }
  }
  return raw
}

/** Merges the sources (later wins), validates every value, and derives the final configuration. */
export const resolveConfig = (...sources: ReadonlyArray<Raw>): ServerConfig | ServerConfigError => {
  const merged: Raw = {}
  for (const source of sources) Object.assign(merged, source)
  const problems: Array<string> = []
  const value = (key: Key): string | undefined => {
    const entry = merged[key]
    const raw = entry?.value ?? (defaults as Partial<Record<Key, string>>)[key]
    if (raw === undefined) return undefined
    const result = Schema.decodeUnknownResult(valueSchemas[key])(raw)
    if (Result.isFailure(result)) {
      problems.push(`${entry?.source ?? `default ${key}`}: ${firstLine(result.failure.message)}`)
      return undefined
    }
    return raw
  }
  const values = Object.fromEntries(keys.map((k) => [k, value(k)])) as Record<Key, string | undefined>
  if (problems.length > 0) return new ServerConfigError({ message: problems.join("\n") })

  const id = values.id as NodeId
  const peerListenExplicit = merged.peerListen !== undefined
  const ownPeerAddress = parseHostPort(values.peerListen!)!
  let peers: ReadonlyMap<NodeId, PeerAddress>
  if (values.peers === undefined) peers = new Map([[id, ownPeerAddress]])
  else {
    peers = parsePeerList(values.peers) as ReadonlyMap<NodeId, PeerAddress>
    if (!peers.has(id))
      problems.push(`${merged.peers!.source}: the list must include this node (${id}=host:port), e.g. ${id}=${values.peerListen}`)
  }
  // With an explicit peer list and no --peer-listen, listen where the list says this node is.
  const peerListen = !peerListenExplicit && peers.has(id) ? peers.get(id)! : ownPeerAddress
  const apiListen = parseHostPort(values.apiListen!)!
  const apiPeers = new Map<NodeId, string>()
  if (values.apiPeers !== undefined) {
    for (const [peer, address] of parsePeerList(values.apiPeers) as ReadonlyMap<NodeId, PeerAddress>) {
      apiPeers.set(peer, formatHostPort(address))
    }
  }
  // This node's own entry: the address --api-peers gives it, which others can reach, else where it listens. A
  // wildcard listen address (0.0.0.0, what containers and multi-host clusters use) is no address for anyone else.
  if (!apiPeers.has(id)) apiPeers.set(id, formatHostPort(apiListen))
  const join = ["true", "1"].includes(values.join!.trim().toLowerCase())
  if (join && peers.size < 2) problems.push(`flag --join: a joining node needs --peers with at least one existing member besides ${id}`)
  if ((values.accessKey === undefined) !== (values.secretKey === undefined))
    problems.push("CAIRN_ACCESS_KEY and CAIRN_SECRET_KEY: set both or neither (neither generates a pair on first start)")
  const s3Listen = parseHostPort(values.s3Listen!)!
  const consoleListen = parseHostPort(values.consoleListen!)!
  const kafkaListen = parseHostPort(values.kafkaListen!)!
  const log = ["true", "1"].includes(values.log!.trim().toLowerCase())
  const kafka = log && ["true", "1"].includes(values.kafka!.trim().toLowerCase())
  const kafkaSasl = ["true", "1"].includes(values.kafkaSasl!.trim().toLowerCase())
  const loopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host)
  // Without SASL anyone who reaches the listener may read and write every topic: only on loopback.
  if (kafka && !kafkaSasl && !loopback(kafkaListen.host))
    problems.push(`--kafka-listen ${formatHostPort(kafkaListen)}: an anonymous Kafka listener may only listen on loopback; set --kafka-sasl (clients then authenticate with an S3 access key and secret) or --no-kafka`)
  if ((values.s3TlsCert === undefined) !== (values.s3TlsKey === undefined))
    problems.push("--s3-tls-cert and --s3-tls-key: set both (HTTPS) or neither (HTTP)")
  if ((values.apiTlsCert === undefined) !== (values.apiTlsKey === undefined))
    problems.push("--api-tls-cert and --api-tls-key: set both (HTTPS) or neither (HTTP)")
  const peerTlsSet = [values.peerTlsCert, values.peerTlsKey, values.peerTlsCa].filter((v) => v !== undefined).length
  if (peerTlsSet !== 0 && peerTlsSet !== 3)
    problems.push("--peer-tls-cert, --peer-tls-key and --peer-tls-ca: set all three (mutual TLS between peers) or none (plain TCP)")
  const ports = [
    ["--peer-listen", peerListen],
    ["--api-listen", apiListen],
    ["--s3-listen", s3Listen],
    ["--console-listen", consoleListen],
    ...(kafka ? [["--kafka-listen", kafkaListen] as const] : [])
  ] as const
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      const [a, pa] = ports[i]!
      const [b, pb] = ports[j]!
      if (pa.port !== 0 && pa.port === pb.port && pa.host === pb.host) problems.push(`${a} and ${b} are both ${formatHostPort(pa)}: give them different ports`)
    }
  }
  let ec: ErasureScheme | undefined
  if (values.ec !== undefined) {
    try {
      ec = Objects.parseScheme(values.ec, peers.size)
    } catch (e) {
      problems.push(`${merged.ec!.source}: ${(e as Error).message}`)
    }
  }
  if (problems.length > 0) return new ServerConfigError({ message: problems.join("\n") })
  return {
    ec,
    writeSpareShards: Number(values.writeSpareShards!),
    zone: values.zone,
    capacityWeight: Number(values.capacityWeight!),
    rebalance: { maxInFlight: Number(values.rebalanceMaxInFlight!), bytesPerSecond: Number(values.rebalanceBytesPerSecond!) },
    lifecycleDaySeconds: values.lifecycleDaySeconds === undefined ? undefined : Number(values.lifecycleDaySeconds),
    id,
    dataDir: values.dataDir!,
    peers,
    peerListen,
    apiListen,
    s3Listen,
    consoleListen: { address: consoleListen, explicit: merged.consoleListen !== undefined },
    consoleShareEndpoint: values.consoleShareEndpoint === undefined || values.consoleShareEndpoint.trim() === "" ? undefined : new URL(values.consoleShareEndpoint.trim()).origin,
    consoleReportsDir: values.consoleReportsDir!,
    s3Region: values.s3Region!,
    s3Tls: values.s3TlsCert === undefined || values.s3TlsKey === undefined ? undefined : { certPath: values.s3TlsCert, keyPath: values.s3TlsKey },
    s3Domains: (values.s3Domains ?? "").split(",").map((d) => d.trim().toLowerCase()).filter((d) => d !== ""),
    apiPeers,
    clusterSecret: values.clusterSecret,
    accessKey: values.accessKey,
    secretKey: values.secretKey,
    join,
    logLevel: values.logLevel as LogLevel,
    accessLog: parseAccessLogTarget(values.accessLog),
    requestTimeoutMs: Number(values.requestTimeoutMs),
    otlpEndpoint: values.otlpEndpoint === undefined || values.otlpEndpoint.trim() === "" ? undefined : values.otlpEndpoint.trim(),
    metricsPublic: ["true", "1"].includes((values.metricsPublic ?? "").trim().toLowerCase()),
    log,
    kafkaListen: { address: kafkaListen, explicit: merged.kafkaListen !== undefined },
    kafka,
    kafkaSasl,
    apiTls: values.apiTlsCert === undefined || values.apiTlsKey === undefined ? undefined : { certPath: values.apiTlsCert, keyPath: values.apiTlsKey },
    peerTls: values.peerTlsCert === undefined || values.peerTlsKey === undefined || values.peerTlsCa === undefined
      ? undefined
      : { certPath: values.peerTlsCert, keyPath: values.peerTlsKey, caPath: values.peerTlsCa },
    overload: Object.fromEntries(overloadKeys.map((k) => [k, Number(values[k])])) as unknown as OverloadLimits
  }
}

export const formatHostPort = (a: PeerAddress): string => (a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)
