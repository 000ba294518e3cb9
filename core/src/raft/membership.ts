/**
 * Cluster membership and quorums, with joint consensus.
 *
 * A configuration is a set of voters, optionally an outgoing set while a
 * change is in its joint phase, and learners (who replicate but never vote or
 * count). In the joint phase every decision needs a majority of both sets.
 * Changes arrive as `ConfChange`s in config entries and take effect when the
 * entry is applied; a change that alters voters goes through the joint
 * configuration and leaves it with a second, automatic entry.
 */
import { assert } from "../invariant/invariant.ts"
import type { NodeId } from "../node/node-id.ts"

export interface ClusterConfig {
  readonly voters: ReadonlyArray<NodeId>
  /** Non-empty only in the joint phase: the voters being replaced. */
  readonly outgoing: ReadonlyArray<NodeId>
  readonly learners: ReadonlyArray<NodeId>
}

export type ConfChangeStep =
  | { readonly op: "add-voter"; readonly node: NodeId }
  | { readonly op: "remove"; readonly node: NodeId }
  | { readonly op: "add-learner"; readonly node: NodeId }

/** A membership change: `enter-joint` applies steps; `leave-joint` ends the joint phase. */
export type ConfChange =
  | { readonly kind: "enter-joint"; readonly steps: ReadonlyArray<ConfChangeStep> }
  | { readonly kind: "leave-joint" }

const sorted = (ids: Iterable<NodeId>): ReadonlyArray<NodeId> => [...new Set(ids)].sort()

export const initialConfig = (voters: ReadonlyArray<NodeId>): ClusterConfig => ({
  voters: sorted(voters),
  outgoing: [],
  learners: []
})

export const isJoint = (config: ClusterConfig): boolean => config.outgoing.length > 0

/** Every node that receives replication: voters of both halves and learners. */
export const members = (config: ClusterConfig): ReadonlyArray<NodeId> =>
  sorted([...config.voters, ...config.outgoing, ...config.learners])

export const isVoter = (config: ClusterConfig, id: NodeId): boolean =>
  config.voters.includes(id) || config.outgoing.includes(id)

/** Why `change` cannot apply to `config`, or undefined if it can. */
export const confChangeProblem = (config: ClusterConfig, change: ConfChange): string | undefined => {
  if (change.kind === "leave-joint") return isJoint(config) ? undefined : "leave-joint outside a joint configuration"
  if (isJoint(config)) return "enter-joint while already joint"
  const voters = new Set(config.voters)
  for (const step of change.steps) {
    if (step.op === "add-voter") voters.add(step.node)
    else voters.delete(step.node)
  }
  return voters.size === 0 ? "the change would leave no voters" : undefined
}

/** Applies a change; the result is what the entry establishes. */
export const applyConfChange = (config: ClusterConfig, change: ConfChange): ClusterConfig => {
  if (change.kind === "leave-joint") {
    assert(isJoint(config), "leave-joint outside a joint configuration")
    // Outgoing-only voters that were demoted to learners stay learners.
    return { voters: config.voters, outgoing: [], learners: config.learners }
  }
  assert(!isJoint(config), "enter-joint while already joint")
  const voters = new Set(config.voters)
  const learners = new Set(config.learners)
  for (const step of change.steps) {
    switch (step.op) {
      case "add-voter":
        voters.add(step.node)
        learners.delete(step.node)
        break
      case "add-learner":
        voters.delete(step.node)
        learners.add(step.node)
        break
      case "remove":
        voters.delete(step.node)
        learners.delete(step.node)
        break
    }
  }
  assert(voters.size > 0, "a configuration needs at least one voter")
  const changedVoters = voters.size !== config.voters.length || config.voters.some((v) => !voters.has(v))
  return {
    voters: sorted(voters),
    outgoing: changedVoters ? config.voters : [],
    learners: sorted(learners)
  }
}

/** Does this change need a leave-joint entry after it? */
export const entersJoint = (before: ClusterConfig, after: ClusterConfig): boolean => !isJoint(before) && isJoint(after)

export type VoteResult = "won" | "lost" | "pending"

const majorityResult = (voters: ReadonlyArray<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult => {
  if (voters.length === 0) return "won"
  let yes = 0
  let missing = 0
  for (const v of voters) {
    const vote = votes.get(v)
    if (vote === true) yes++
    else if (vote === undefined) missing++
  }
  const quorum = Math.floor(voters.length / 2) + 1
  if (yes >= quorum) return "won"
  if (yes + missing >= quorum) return "pending"
  return "lost"
}

/** The outcome of an election (or any yes/no round) under `config`, joint-aware. */
export const voteResult = (config: ClusterConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult => {
  const a = majorityResult(config.voters, votes)
  const b = majorityResult(config.outgoing, votes)
  if (a === "won" && b === "won") return "won"
  if (a === "lost" || b === "lost") return "lost"
  return "pending"
}

const majorityIndex = (voters: ReadonlyArray<NodeId>, match: (id: NodeId) => number): number => {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER
  const indexes = voters.map(match).sort((a, b) => b - a)
  return indexes[Math.floor(voters.length / 2)]!
}

/** The largest index held by a quorum (of both halves when joint). */
export const quorumIndex = (config: ClusterConfig, match: (id: NodeId) => number): number =>
  Math.min(majorityIndex(config.voters, match), majorityIndex(config.outgoing, match))

/** Is the set `acked` a quorum of `config`? */
export const isQuorum = (config: ClusterConfig, acked: ReadonlySet<NodeId>): boolean =>
  voteResult(config, new Map([...acked].map((id) => [id, true]))) === "won"

/**
 * Does every majority of every half of `config` include one of `ids`? Then an entry none of
 * `ids` holds cannot have been committed under `config`, nor under the configuration before or
 * after it (each shares a half with it: joint consensus changes one half at a time).
 */
export const blocksEveryHalf = (config: ClusterConfig, ids: ReadonlySet<NodeId>): boolean =>
  [config.voters, config.outgoing].every((half) =>
    half.length === 0 || half.filter((id) => !ids.has(id)).length < Math.floor(half.length / 2) + 1
  )

// ---- decisions under several configurations --------------------------------------------------
//
// A node decides (wins an election, commits, confirms a read) under its applied configuration
// AND every configuration its log holds after it: one of those may already be in force
// elsewhere, committed without this node knowing (its commit index lags, or was not yet
// durable when it crashed). Needing a quorum of each keeps every two decisions intersecting.

/** The outcome of a yes/no round that must be won under every configuration in `configs`. */
export const voteResultAll = (configs: ReadonlyArray<ClusterConfig>, votes: ReadonlyMap<NodeId, boolean>): VoteResult => {
  let result: VoteResult = "won"
  for (const config of configs) {
    const r = voteResult(config, votes)
    if (r === "lost") return "lost"
    if (r === "pending") result = "pending"
  }
  return result
}

/** The largest index held by a quorum of every configuration in `configs`. */
export const quorumIndexAll = (configs: ReadonlyArray<ClusterConfig>, match: (id: NodeId) => number): number =>
  Math.min(...configs.map((config) => quorumIndex(config, match)))

/** Is `acked` a quorum of every configuration in `configs`? */
export const isQuorumAll = (configs: ReadonlyArray<ClusterConfig>, acked: ReadonlySet<NodeId>): boolean =>
  configs.every((config) => isQuorum(config, acked))

/** Every node that receives replication under any of `configs`. */
export const membersAll = (configs: ReadonlyArray<ClusterConfig>): ReadonlyArray<NodeId> =>
  configs.length === 1 ? members(configs[0]!) : sorted(configs.flatMap(members))
