/**
 * Shard placement: which nodes hold the k+m shards of a stripe.
 *
 * Rendezvous (highest-random-weight) hashing, one draw per shard slot: slot i
 * of stripe s goes to the node with the highest `score(s, i, node)` among the
 * nodes still allowed for it. No table is stored or agreed on: every node
 * computes the same answer from the stripe id and the member list, and a
 * node joining or leaving only moves the slots it wins or held (about 1/n of
 * them), where `hash mod n` would move almost all.
 *
 * Capacity weights: a node may carry a weight (default 1). Among weighted
 * nodes the score is the standard weighted rendezvous key `-w / ln(u)`, with
 * `u` the node's hash mapped into (0, 1): a node of weight w wins a slot with
 * probability w / (sum of the allowed weights), and changing one weight only
 * moves slots to or from that node. When every node has the same weight the
 * plain integer scores are compared, exactly as before weights existed, so
 * an unweighted cluster places every stripe where it always did.
 *
 * Failure domains: a slot may only go to an unused node of a domain holding
 * the fewest shards of this stripe so far. The first `min(k+m, domains)`
 * shards therefore land in distinct domains, and no domain holds more than
 * its fair share, so losing a whole domain loses as few shards as the
 * topology allows.
 */
import { Data } from "effect"
import { assert } from "../invariant/invariant.ts"

/** A cluster member as placement sees it. */
export interface PlacementNode {
  readonly id: string
  /** Failure domain label (rack, zone, host): nodes sharing it may fail together. */
  readonly domain: string
  /** Relative capacity (default 1): a node of weight 2 gets about twice the shards of one of weight 1. */
  readonly weight?: number
}

/** Fewer nodes than shards, or a malformed member list: the stripe cannot be placed. */
export class PlacementError extends Data.TaggedError("PlacementError")<{
  readonly reason: "too-few-nodes" | "duplicate-node" | "bad-count" | "bad-weight"
  readonly message: string
}> {}

/**
 * Two 32-bit multiply-xorshift lanes over a string's UTF-16 code units
 * (cyrb53's construction): 64 bits of state, well mixed, no platform hash.
 */
const hashString = (s: string, seed: number): readonly [number, number] => {
  let h1 = 0xdeadbeef ^ seed
  let h2 = 0x41c6ce57 ^ seed
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x9e3779b1)
    h2 = Math.imul(h2 ^ c, 0x5f356495)
  }
  // The length, so that "a" and "a\0" differ even when a code unit is 0.
  h1 = Math.imul(h1 ^ s.length, 0x85ebca6b)
  h2 = Math.imul(h2 ^ s.length, 0xc2b2ae35)
  return finish(h1, h2)
}

/** Cross-lane avalanche: every input bit reaches every output bit of both lanes. */
const finish = (a: number, b: number): readonly [number, number] => {
  let h1 = a
  let h2 = b
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35)
  h1 = Math.imul(h1 ^ (h1 >>> 15), 0x2c1b3c6d) ^ (h2 >>> 7)
  h2 = Math.imul(h2 ^ (h2 >>> 15), 0x297a2d39) ^ (h1 >>> 9)
  return [h1 >>> 0, h2 >>> 0]
}

const STRIPE_SEED = 0x5354 // "ST"
const NODE_SEED = 0x4e44 // "ND"

/**
 * The rendezvous weight of `node` for slot `slot` of `stripe`, a 53-bit
 * non-negative integer (so plain `>` compares it exactly).
 */
export const placementScore = (stripeId: string, slot: number, nodeId: string): number =>
  scoreOf(hashString(stripeId, STRIPE_SEED), slot, hashString(nodeId, NODE_SEED))

const scoreOf = (stripe: readonly [number, number], slot: number, node: readonly [number, number]): number => {
  const slotMix = Math.imul(slot + 1, 0x9e3779b1)
  const [h1, h2] = finish(stripe[0] ^ node[0] ^ slotMix, stripe[1] ^ Math.imul(node[1], 0x7feb352d) ^ slotMix)
  return (h2 & 0x1f_ffff) * 0x1_0000_0000 + h1
}

/** Integer scores are below 2^53, so `(score + 1) / SCORE_SPAN` lies strictly inside (0, 1) (2^53 + 2 is exact). */
const SCORE_SPAN = 2 ** 53 + 2

/**
 * The weighted rendezvous key of an integer score: `-w / ln(u)` with u in
 * (0, 1), positive and finite, increasing in u for a fixed weight.
 */
export const weightedKey = (score: number, weight: number): number => -weight / Math.log((score + 1) / SCORE_SPAN)

const weightOf = (node: PlacementNode): number => node.weight ?? 1

/**
 * The `count` nodes that hold the shards of `stripeId`, in shard order
 * (element i holds shard i: data shards first, then parity). All distinct,
 * spread over as many failure domains as there are, deterministic in
 * `stripeId` and the *set* of nodes (their order in `nodes` does not matter).
 */
export const placeStripe = (
  stripeId: string,
  nodes: ReadonlyArray<PlacementNode>,
  count: number
): ReadonlyArray<PlacementNode> => {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new PlacementError({ reason: "bad-count", message: `shard count must be a positive integer, got ${count}` })
  }
  if (nodes.length < count) {
    throw new PlacementError({
      reason: "too-few-nodes",
      message: `${count} shards need ${count} distinct nodes, the cluster has ${nodes.length}`
    })
  }
  const ids = new Set<string>()
  for (const node of nodes) {
    if (ids.has(node.id)) throw new PlacementError({ reason: "duplicate-node", message: `node ${node.id} listed twice` })
    ids.add(node.id)
    const w = weightOf(node)
    if (!(Number.isFinite(w) && w > 0)) throw new PlacementError({ reason: "bad-weight", message: `node ${node.id} has weight ${w}; weights are positive numbers` })
  }
  // All weights equal: compare the integer scores themselves (the placement of an unweighted cluster).
  const weighted = nodes.some((node) => weightOf(node) !== weightOf(nodes[0]!))

  const stripe = hashString(stripeId, STRIPE_SEED)
  const nodeHashes = nodes.map((node) => hashString(node.id, NODE_SEED))
  const used = new Array<boolean>(nodes.length).fill(false)
  const perDomain = new Map<string, number>()
  const freePerDomain = new Map<string, number>()
  for (const node of nodes) {
    perDomain.set(node.domain, 0)
    freePerDomain.set(node.domain, (freePerDomain.get(node.domain) ?? 0) + 1)
  }

  const out: Array<PlacementNode> = []
  for (let slot = 0; slot < count; slot++) {
    // The least-loaded domains that still have a free node.
    let fewest = Infinity
    for (const [domain, n] of perDomain) if (freePerDomain.get(domain)! > 0 && n < fewest) fewest = n
    let best = -1
    let bestScore = -1
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!
      if (used[i] || perDomain.get(node.domain) !== fewest) continue
      const raw = scoreOf(stripe, slot, nodeHashes[i]!)
      const score = weighted ? weightedKey(raw, weightOf(node)) : raw
      // Ties (1 in 2^53 unweighted) go to the smaller id, so the answer never depends on the input order.
      if (score > bestScore || (score === bestScore && node.id < nodes[best]!.id)) {
        best = i
        bestScore = score
      }
    }
    assert(best >= 0, "a free node exists while count <= nodes")
    const chosen = nodes[best]!
    used[best] = true
    perDomain.set(chosen.domain, fewest + 1)
    freePerDomain.set(chosen.domain, freePerDomain.get(chosen.domain)! - 1)
    out.push(chosen)
  }
  return out
}
