/**
 * The limits a listener (S3 on `--s3-listen`, the KV API on `--api-listen`)
 * keeps to stay up past its sustainable rate, each a named default that a
 * server flag overrides (`--max-inflight-requests`, ...; docs/server.md,
 * "Under overload"), and the fixed constants no operator needs to turn.
 * Each listener has its own set: an S3 flood does not shed KV requests.
 */

export interface AdmissionLimits {
  /** Requests served at once; more wait in the queue. */
  readonly maxInflightRequests: number
  /** Declared body bytes of the requests served at once. */
  readonly maxInflightBytes: number
  /** Requests one client has served at once, and as many more it may have queued. */
  readonly maxClientInflight: number
  /** Declared body bytes one client has served at once. */
  readonly maxClientInflightBytes: number
  /** Requests waiting for admission; beyond it a request is shed at once. */
  readonly maxQueuedRequests: number
  /** How long a request may wait for admission before it is shed. */
  readonly queueTimeoutMs: number
}

export interface OverloadLimits extends AdmissionLimits {
  /** Open connections per listener; beyond it the oldest idle one is closed, or else the new one. */
  readonly maxConnections: number
  /** A request's headers must arrive within this; also the window the body rate is judged over. */
  readonly headerTimeoutMs: number
  /** An idle kept-alive connection is closed after this. */
  readonly idleTimeoutMs: number
  /** A body arriving slower than this (bytes per second, over a header-timeout window) is cut. */
  readonly minBodyBytesPerSecond: number
}

export const DEFAULT_MAX_INFLIGHT_REQUESTS = 512
export const DEFAULT_MAX_INFLIGHT_BYTES = 1024 * 1024 * 1024
export const DEFAULT_MAX_CLIENT_INFLIGHT = 128
export const DEFAULT_MAX_CLIENT_INFLIGHT_BYTES = 256 * 1024 * 1024
export const DEFAULT_MAX_QUEUED_REQUESTS = 1024
export const DEFAULT_QUEUE_TIMEOUT_MS = 2000
// Under the default open-file limit of a service unit (65,536), with room for peers and data files.
export const DEFAULT_MAX_CONNECTIONS = 10_000
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000
export const DEFAULT_MIN_BODY_BYTES_PER_SECOND = 1024

/** The defaults (docs/server.md, "Under overload"). */
export const defaultOverloadLimits: OverloadLimits = {
  maxInflightRequests: DEFAULT_MAX_INFLIGHT_REQUESTS,
  maxInflightBytes: DEFAULT_MAX_INFLIGHT_BYTES,
  maxClientInflight: DEFAULT_MAX_CLIENT_INFLIGHT,
  maxClientInflightBytes: DEFAULT_MAX_CLIENT_INFLIGHT_BYTES,
  maxQueuedRequests: DEFAULT_MAX_QUEUED_REQUESTS,
  queueTimeoutMs: DEFAULT_QUEUE_TIMEOUT_MS,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  headerTimeoutMs: DEFAULT_HEADER_TIMEOUT_MS,
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
  minBodyBytesPerSecond: DEFAULT_MIN_BODY_BYTES_PER_SECOND
}

/** The seconds a shed client is told to wait (Retry-After). */
export const RETRY_AFTER_SECONDS = 1

/**
 * The listen backlog: connections the kernel holds before the server
 * accepts them (capped by net.core.somaxconn). Node's 511 overflows under a
 * burst of new connections, and a dropped SYN costs the client (a probe
 * too) a 1 s, then 3 s, then 7 s retransmit.
 */
export const LISTEN_BACKLOG = 4096

/**
 * A shed request with at most this many body bytes still to come keeps its
 * connection: Node reads and drops the rest. Reconnecting costs a client
 * and the node more than reading a small body; a larger one closes.
 */
export const SHED_KEEP_ALIVE_BODY_BYTES = 64 * 1024

/** What a body of unknown length (chunked) is charged against the byte limits. */
export const UNKNOWN_LENGTH_CHARGE_BYTES = 1024 * 1024
