/**
 * Raft's vocabulary: entries, the durable hard state, snapshots and the
 * messages nodes exchange. Plain data: the state machine in `raft.ts` is pure,
 * and `codec.ts` puts these on the wire and on disk.
 */
import type { NodeId } from "../node/node-id.ts"
import type { ClusterConfig } from "./membership.ts"

/** A log entry. `config` entries carry an encoded `ConfChange`; `noop` is a new leader's first entry. */
export interface Entry {
  readonly term: number
  readonly index: number
  readonly kind: "command" | "config" | "noop"
  readonly data: Uint8Array
}

/** What must be durable before a node may answer votes or appends. */
export interface HardState {
  readonly term: number
  readonly vote: NodeId | undefined
  readonly commit: number
  /**
   * This node became leader in `term` (absent: it did not, or has not recorded it). Repair
   * relies on it: a leader never truncates what it wrote in its own term.
   */
  readonly led?: boolean
  /**
   * A term no earlier than the one in which this node learned `commit` (absent in files of
   * older versions: `term` bounds it then). Repair trusts a peer's entries below our commit
   * index when the peer's last entry is of this term or later (Leader Completeness).
   */
  readonly commitTerm?: number
}

export interface SnapshotMeta {
  readonly index: number
  readonly term: number
  readonly config: ClusterConfig
}

export interface Snapshot {
  readonly meta: SnapshotMeta
  readonly data: Uint8Array
}

interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
}

/** RequestVote, or a PreVote probe that does not raise anyone's term. */
export interface VoteRequest extends Envelope {
  readonly type: "vote"
  readonly preVote: boolean
  /** Sent after TimeoutNow: voters do not hold it back for a live leader. */
  readonly transfer: boolean
  readonly lastIndex: number
  readonly lastTerm: number
}

export interface VoteResponse extends Envelope {
  readonly type: "vote-response"
  readonly preVote: boolean
  readonly granted: boolean
}

export interface AppendRequest extends Envelope {
  readonly type: "append"
  readonly prevIndex: number
  readonly prevTerm: number
  readonly entries: ReadonlyArray<Entry>
  readonly commit: number
}

export interface AppendResponse extends Envelope {
  readonly type: "append-response"
  readonly success: boolean
  /** On success: the last index now known to match. On rejection: the rejected prevIndex. */
  readonly index: number
  /**
   * On rejection, where the leader should try next (fast backtracking). On a success that held
   * back fills of lost-term holes at the batch's end: the entry a batch must reach (else 0).
   */
  readonly hintIndex: number
  readonly hintTerm: number
}

export interface Heartbeat extends Envelope {
  readonly type: "heartbeat"
  readonly commit: number
  /** ReadIndex round this heartbeat confirms, or 0. */
  readonly readRound: number
}

export interface HeartbeatResponse extends Envelope {
  readonly type: "heartbeat-response"
  readonly readRound: number
}

export interface SnapshotChunk extends Envelope {
  readonly type: "snapshot"
  readonly meta: SnapshotMeta
  readonly offset: number
  readonly total: number
  readonly chunk: Uint8Array
}

export interface SnapshotResponse extends Envelope {
  readonly type: "snapshot-response"
  readonly index: number
  /** Next byte offset wanted, or -1 when the snapshot was installed. */
  readonly nextOffset: number
  readonly reject: boolean
}

export interface TimeoutNow extends Envelope {
  readonly type: "timeout-now"
}

/** A follower forwarding client commands to the leader. */
export interface ProposeForward extends Envelope {
  readonly type: "propose"
  readonly commands: ReadonlyArray<Uint8Array>
}

/** A follower asking the leader for a read index. */
export interface ReadIndexRequest extends Envelope {
  readonly type: "read-index"
  readonly context: number
}

export interface ReadIndexResponse extends Envelope {
  readonly type: "read-index-response"
  readonly context: number
  readonly index: number
}

/** A node asking peers for entries it found damaged on its own disk (Protocol-Aware Recovery). */
export interface RepairRequest extends Envelope {
  readonly type: "repair"
  readonly indexes: ReadonlyArray<number>
}

export interface RepairResponse extends Envelope {
  readonly type: "repair-response"
  /** The responder's commit index: entries up to it are committed; later ones are only its log. */
  readonly commit: number
  /** The responder's last index, and that entry's term (0 if its tail is a hole). */
  readonly lastIndex: number
  readonly lastTerm: number
  readonly entries: ReadonlyArray<Entry>
}

/**
 * A peer's snapshot, sent to a node whose damaged entries the peer has already
 * compacted: the only intact copy of them left is inside a snapshot.
 */
export interface RepairSnapshot extends Envelope {
  readonly type: "repair-snapshot"
  readonly meta: SnapshotMeta
  readonly data: Uint8Array
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow
  | ProposeForward
  | ReadIndexRequest
  | ReadIndexResponse
  | RepairRequest
  | RepairResponse
  | RepairSnapshot

export type Role = "follower" | "pre-candidate" | "candidate" | "leader"
