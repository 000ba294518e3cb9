/**
 * Which node coordinates a consumer group: rendezvous (highest-random-
 * weight) hashing of the group id over the brokers, the cluster members
 * that run a Kafka listener (`object/placement.ts`'s score, so one hash
 * serves both). Every node computes the same answer from the same member
 * list with nothing stored or agreed on, and a member joining or leaving
 * moves only the groups it wins or held. Two nodes that briefly disagree
 * on the member list may both act as a group's coordinator; the group's
 * record in the KV is written by compare-and-set (`group-store.ts`), so at
 * most one of them completes a rebalance and the other drops its copy.
 */
import type { NodeId } from "../../node/node-id.ts"
import { placementScore } from "../../object/placement.ts"

/** Keeps group placement apart from any other use of the same score. */
const SLOT = 0x6b67 // "kg"

/** The node among `nodes` that `name` (a namespaced key) is placed on, or undefined when there is none. */
export const rendezvousOf = (name: string, nodes: ReadonlyArray<NodeId>): NodeId | undefined => {
  let best: NodeId | undefined
  let bestScore = -1
  for (const node of nodes) {
    const score = placementScore(name, SLOT, node)
    // Ties (vanishingly rare) go to the smaller id, so the order of `nodes` never matters.
    if (score > bestScore || (score === bestScore && best !== undefined && node < best)) {
      best = node
      bestScore = score
    }
  }
  return best
}

/** The coordinator of `groupId` among `nodes`, or undefined when there is none. */
export const coordinatorOf = (groupId: string, nodes: ReadonlyArray<NodeId>): NodeId | undefined => rendezvousOf(`kafka-group/${groupId}`, nodes)

/** The transaction coordinator of `transactionalId` (placed apart from groups of the same name). */
export const txnCoordinatorOf = (transactionalId: string, nodes: ReadonlyArray<NodeId>): NodeId | undefined =>
  rendezvousOf(`kafka-txn/${transactionalId}`, nodes)
