/**
 * What the KV API handler is built over (the node's KV server, its member
 * records, the S3 user directory) and what one request's operation sees:
 * the request, its URL, the authenticated caller and the figures the
 * runtime's metrics are told about when the answer goes out.
 */
import type { Effect } from "effect"
import type { KvServer } from "../kv/server.ts"
import type { LogClient } from "../log/client/log-client.ts"
import type { NodeId } from "../node/node-id.ts"
import type { Users } from "../s3/users.ts"
import type { KvApiPrincipal, KvApiRequest } from "./request.ts"
import type { KvApiErrorKind } from "./response.ts"

/**
 * The membership records the admin endpoint manages (the runtime's
 * `members.ts`: they also reconfigure its peer network). `add` and `remove`
 * answer a result object, or a message: "busy..." while another change is
 * in flight, "unknown..." for a member that does not exist.
 */
export interface KvApiMembers {
  readonly apiAddress: (id: NodeId) => string | undefined
  readonly list: Effect.Effect<unknown>
  readonly add: (body: unknown) => Effect.Effect<object | string>
  readonly remove: (id: string) => Effect.Effect<object | string>
  /** Marks a member draining (no new shards; repair moves its shards away) or not. */
  readonly drain: (id: string, draining: boolean) => Effect.Effect<object | string>
  /** Makes a learner a voter; a message ("busy", "unknown member", "not a learner") when it cannot. */
  readonly promote: (id: string) => Effect.Effect<object | string>
}

/** One Raft group this node takes part in, as its own replica sees it (`/v1/status`'s `groups`). */
export interface RaftGroupStatus {
  /** "kv" for the KV's group; a log partition's group id otherwise. */
  readonly group: string
  /** What people call it: "kv", or a partition's "<topic>/<partition>" (its group id when the topic is not known here). */
  readonly name: string
  readonly role: string
  readonly leader: string | null
  readonly term: number
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
}

/** What the runtime knows of its node beyond the KV's Raft status: added to `/v1/status` when given. */
export interface NodeFacts {
  /** The Disk implementation the node runs on ("io_uring" or "libuv"); null when the runtime does not say. */
  readonly diskBackend: string | null
  /** Every Raft group with a replica on this node: the KV's first, then the log's partitions. */
  readonly groups: ReadonlyArray<RaftGroupStatus>
}

export interface KvApiConfig {
  /** This node. */
  readonly id: NodeId
  readonly kv: KvServer
  readonly members: KvApiMembers
  /** The S3 user directory; without it the S3 user endpoints answer 501. */
  readonly users?: Users
  /** The node's streaming log client (`log/client/node-log-client.ts`); without it the `/v1/log` routes answer 501. */
  readonly log?: LogClient
  /** How long a write or a linearizable read may wait for its answer. */
  readonly requestTimeoutMs: number
  /**
   * Unique for the life of the cluster (the runtime adds a random boot
   * nonce): each write is its own session, `<sessionPrefix>-<counter>`.
   */
  readonly sessionPrefix: string
  /** The runtime's facts about its node (disk backend, Raft groups); without it `/v1/status` has the KV's group only. */
  readonly nodeFacts?: Effect.Effect<NodeFacts>
  /** A fresh S3 key pair; the runtime's CSPRNG makes it (core has no source of secret randomness). */
  readonly newKeyPair: Effect.Effect<{ readonly accessKey: string; readonly secretKey: string }>
}

/** Figures of one exchange for the runtime's metrics. */
export interface Tally {
  /** Error kinds noted while serving (a refused write counts `not_leader` whatever status it ends in). */
  readonly errorKinds: Array<KvApiErrorKind>
  /** Value bytes accepted. */
  bytesIn: number
}

/** One request in progress: what its operation reads, and the figures it leaves for the runtime's metrics. */
export interface RequestContext {
  readonly config: KvApiConfig
  readonly request: KvApiRequest
  readonly url: URL
  readonly principal: KvApiPrincipal
  /** What the runtime's metrics are told, kept even when the request ends in a refusal. */
  readonly tally: Tally
  /** A fresh write session id. */
  readonly newClientId: () => string
}
