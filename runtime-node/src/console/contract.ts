/**
 * The console's own JSON routes, as the browser code (console/src/) and the
 * console listener both see them: types only, no runtime imports, so the
 * browser bundle can import this file as it is. Everything else the console
 * shows comes from the S3 API (`/api/s3/…`) and the admin API
 * (`/api/admin/…`), forwarded with the signed-in user's own credentials.
 */
import type { GroupRow, MemberRow, RebalanceEntry } from "../cli/cluster-health.ts"

export type { GroupRow, MemberRow, RebalanceEntry }

/** Where the console's routes live; every other path is a static asset. */
export const API_PREFIX = "/api/"
/** The header the browser must send on every request that changes something. */
export const CSRF_HEADER = "x-cairn-csrf"

/** `POST /api/session`: sign in. */
export interface SignInRequest {
  readonly accessKey: string
  readonly secretKey: string
}

/** `GET /api/session` and the answer to a sign-in. */
export interface SessionInfo {
  readonly user: string
  readonly accessKey: string
  readonly admin: boolean
  /** Send it back in the CSRF header on every POST, PUT and DELETE. */
  readonly csrfToken: string
  /** When the session ends at the latest (ms since the epoch). */
  readonly expiresMs: number
  readonly node: string
}

/** Every refusal of the console's own routes. */
export interface ConsoleError {
  readonly error: "unauthorized" | "session-expired" | "csrf" | "bad-request" | "forbidden" | "unavailable" | "not-found" | "upstream" | "too-many-attempts"
  readonly message: string
}

/** `GET /api/cluster`: every member with its Raft role, health and lag (as `cairn cluster list --json`). */
export interface ClusterView {
  readonly node: string
  readonly members: ReadonlyArray<MemberRow>
  /** The leader's rebalancing pass (shards moved to where the current members place them); null before any pass. */
  readonly rebalance: RebalanceEntry | null
}

/** `POST /api/share`: a link that lets anyone who has it download one object (version) until it expires. */
export interface ShareRequest {
  readonly bucket: string
  readonly key: string
  /** A version other than the current one. */
  readonly versionId?: string
  /** 1 s to 7 days (604800 s), S3's bounds for a presigned URL. */
  readonly expiresSeconds: number
}

export interface ShareLink {
  /** A SigV4 presigned GET on this node's S3 listener, signed with the session's key. */
  readonly url: string
  /** When it stops working (ms since the epoch), unless the key is revoked before. */
  readonly expiresMs: number
}

/** One chart's line: a figure per sampling interval, at the interval's end (ms since the epoch); null where nothing is known. */
export interface MetricSeries {
  readonly name: string
  readonly unit: "per-second" | "bytes-per-second" | "seconds"
  readonly points: ReadonlyArray<readonly [number, number | null]>
}

/** `GET /api/metrics?range=<seconds>`: this node's recent figures, sampled by the console every `stepMs`. */
export interface MetricsView {
  readonly node: string
  /** The node's time when it answered: the charts end there (the browser's clock may differ). */
  readonly nowMs: number
  readonly stepMs: number
  /** How far back the history goes at most (seconds); `range` is capped to it. */
  readonly keptSeconds: number
  readonly series: ReadonlyArray<MetricSeries>
  /** Charts of one figure split by a label (S3 requests/s by operation): a line per busiest value, the rest as "other". */
  readonly split: ReadonlyArray<SplitChart>
}

/** One figure split by a label: each line's `name` is the label's value (or "other (N)"), busiest over the range first. */
export interface SplitChart {
  readonly name: string
  readonly unit: MetricSeries["unit"]
  readonly lines: ReadonlyArray<MetricSeries>
}

/** One member's disk and background work, read from its own `/metrics`; null where it did not say. */
export interface NodeStorage {
  readonly id: string
  /** Marked draining: its shards are being moved to the others, and `shards` is how many are left. */
  readonly draining: boolean
  /** Why its figures are missing (unreachable, refused). */
  readonly error?: string
  readonly diskSizeBytes: number | null
  readonly diskAvailableBytes: number | null
  readonly shardBytes: number | null
  readonly shards: number | null
  readonly raftBytes: number | null
  readonly repair: {
    readonly sweeps: number | null
    /** When its last repair sweep ended (ms since the epoch); repair runs on the Raft leader only. */
    readonly lastSweepMs: number | null
    readonly shardsRebuilt: number | null
    /** After the last sweep, stripes short of full redundancy; reported by the leader only. */
    readonly unrepairedLost: number | null
    readonly unrepairedUnavailable: number | null
  }
  readonly gc: {
    readonly sweeps: number | null
    readonly lastSweepMs: number | null
    readonly orphanShards: number | null
    readonly shardsRemoved: number | null
  }
}

/** `GET /api/cluster/storage`: the erasure scheme, the catalog, and every member's disk, repair and GC figures. */
export interface StorageView {
  readonly node: string
  /** K+M, e.g. "2+1"; null before the first object is written (or on one node, which keeps one copy). */
  readonly scheme: string | null
  /** Why the scheme is not known, when it is not. */
  readonly schemeNote?: string
  readonly catalog: {
    readonly objects: number | null
    readonly objectBytes: number | null
    readonly noncurrentVersions: number | null
    readonly deleteMarkers: number | null
    readonly multipartUploads: number | null
  }
  readonly nodes: ReadonlyArray<NodeStorage>
}

/** `POST /api/cluster/members`: a new member, as `cairn cluster add` takes it (sent to the Raft leader). */
export interface AddMemberRequest {
  readonly id: string
  /** host:port other members reach its peer listener at. */
  readonly peerAddress: string
  /** host:port of its KV API (for leader hints and the member table). */
  readonly apiAddress: string
  /** Joins without a vote (a learner) until promoted. */
  readonly learner: boolean
}

/** One user on the Users page: its access keys and the buckets it may use. */
export interface UserBuckets {
  readonly user: string
  readonly accessKeys: ReadonlyArray<string>
  /** The buckets it created (and so owns: only it and the admin may use them), by name. */
  readonly owns: ReadonlyArray<{ readonly name: string; readonly createdMs: number }>
  /** The admin may use every bucket, whoever owns it. */
  readonly allBuckets: boolean
}

/** `GET /api/users` (admin only): every user with a key or a bucket, the admin first. */
export interface UsersView {
  readonly users: ReadonlyArray<UserBuckets>
}

/** One HTML report under the console's reports folder (a `cairn sim`, `cairn check` or `cairn jepsen` run). */
export interface ReportEntry {
  /** Its folder below the reports folder, "/"-separated: open `/api/reports/<path>/index.html`. */
  readonly path: string
  /** The report's own title, when it has one. */
  readonly title: string | null
  /** When its index.html was written (ms since the epoch). */
  readonly modifiedMs: number
  /** The files in its folder (index.html, and e.g. history.jsonl, summary.json, the nodes' logs). */
  readonly files: ReadonlyArray<string>
}

/** `GET /api/reports` (admin only): the reports found, newest first. */
export interface ReportsView {
  /** The folder searched, as the node resolved it. */
  readonly dir: string
  readonly reports: ReadonlyArray<ReportEntry>
  /** Older reports not listed. */
  readonly more: number
}
