/**
 * Cluster membership as the server manages it: the admin endpoint's add and
 * remove, and the replicated address book.
 *
 * Raft's configuration says who votes; it does not say where a node
 * listens. So every change first (add) or last (remove) writes a record
 * under the reserved key `\0cairn/members/{id}` = {peerAddress, apiAddress,
 * role}, replicated like any write. Every node reads these records back from
 * its own state machine (`sync`) and makes the peers reachable, so addresses
 * survive restarts (the log replays them) and reach nodes that were down.
 * Members of the initial cluster (`--peers`) need no record.
 *
 * Draining: `\0cairn/drain/{id}` marks a member the object layer no longer
 * places shards on; repair then treats its shards as misplaced and rebuilds
 * them on the other members (docs/objects.md), after which it can be
 * removed without losing redundancy.
 */
import type { KvServer, NodeId, RangeItem } from "@cairn/core"
import { Effect, Result, Schema } from "effect"
import { randomBytes } from "node:crypto"
import type { ClusterNetwork } from "./cluster-network.ts"
import { formatHostPort, parseHostPort, type ServerConfig } from "./config.ts"
import { log } from "../log/log.ts"

export const MEMBER_PREFIX = "\u0000cairn/members/"
export const DRAIN_PREFIX = "\u0000cairn/drain/"
const DRAIN_END = "\u0000cairn/drain0"
const MEMBER_END = "\u0000cairn/members0" // "0" follows "/": the end of the prefix range

interface MemberRecord {
  readonly peerAddress: string
  readonly apiAddress: string | null
  readonly role: "voter" | "learner" | "removed"
}

export interface MemberView {
  readonly id: string
  readonly peerAddress: string | null
  readonly apiAddress: string | null
  readonly role: "voter" | "learner"
  readonly source: "initial" | "added"
  /** The zone the node published (`--zone`), or null. */
  readonly zone: string | null
  /** Marked draining: no new shards go there, and repair moves its shards away. */
  readonly draining: boolean
  /** The capacity weight the node published (`--capacity-weight`; 1 without one). */
  readonly weight: number
}

/** Rebalancing as `cluster list` shows it (from the leader's cursor in the KV; see core/src/object/rebalance.ts). */
export interface RebalanceView {
  /**
   * done: the passes for the current members finished; moving: the first pass is under way; settling: it
   * finished, and a later pass checks what was in flight (or retries pending shards); waiting: the members
   * changed and no pass has started.
   */
  readonly state: "done" | "moving" | "settling" | "waiting"
  readonly pass: number
  readonly records: number
  readonly shardsMoved: number
  readonly bytesMoved: number
  /** Misplaced shards the pass could not move yet (a later pass retries them). */
  readonly shardsPending: number
}

export interface Members {
  readonly apiAddress: (id: NodeId) => string | undefined
  readonly list: () => Promise<{ readonly members: ReadonlyArray<MemberView>; readonly removed: ReadonlyArray<string>; readonly rebalance: RebalanceView | null }>
  /** A result object, or a message (starting with "busy" when another change is in flight). */
  readonly add: (body: unknown) => Promise<object | string>
  readonly remove: (id: string) => Promise<object | string>
  /** Marks a member draining or not; a result object, or a message ("busy", "unknown member"). */
  readonly drain: (id: string, draining: boolean) => Promise<object | string>
  /** Makes a learner a voter; a result object, or a message ("busy", "unknown member", "not a learner"). */
  readonly promote: (id: string) => Promise<object | string>
  /** Whether the object layer must keep new shards off this member (as last read from the state machine). */
  readonly isDraining: (id: string) => boolean
  /** Keeps the network and the API address map in step with the records; runs forever. */
  readonly sync: Effect.Effect<never>
}

const HostPort = Schema.String.check(Schema.makeFilter((s: string) => parseHostPort(s) !== undefined || `expected host:port, got "${s}"`))
const AddRequest = Schema.Struct({
  id: Schema.String.check(Schema.makeFilter((s: string) => /^[A-Za-z0-9_-]{1,64}$/.test(s) || `node ids are 1-64 letters, digits, "_" or "-"; got "${s}"`)),
  peerAddress: HostPort,
  apiAddress: Schema.optionalKey(HostPort),
  learner: Schema.optionalKey(Schema.Boolean)
})

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

export interface MembersHooks {
  /** The zone a node published, if any (zones.ts). */
  readonly zoneOf?: (id: string) => string | undefined
  /** Called on the node that changed a drain mark, once it has read the mark back (to start a repair sweep). */
  readonly afterDrain?: () => void
  /** The capacity weight a node published (weights.ts); 1 without one. */
  readonly weightOf?: (id: string) => number
  /** Rebalancing's progress; null when unknown (no pass ever ran, or the KV did not answer). */
  readonly rebalance?: () => Promise<RebalanceView | null>
}

export const makeMembers = (config: ServerConfig, kv: KvServer, net: ClusterNetwork, hooks: MembersHooks = {}): Members => {
  const zoneOf = hooks.zoneOf ?? (() => undefined)
  const weightOf = hooks.weightOf ?? (() => 1)
  const apiPeers = new Map(config.apiPeers)
  const records = new Map<string, MemberRecord>()
  const boot = randomBytes(6).toString("hex")
  let counter = 0
  const timeout = config.requestTimeoutMs

  const draining = new Set<string>()
  const readDrains = Effect.gen(function*() {
    const result = yield* Effect.result(kv.query({ op: "range", start: DRAIN_PREFIX, end: DRAIN_END, limit: 10_000 }, "serializable", timeout))
    if (Result.isFailure(result) || result.success.type !== "range") return
    draining.clear()
    for (const item of result.success.items as ReadonlyArray<RangeItem>) draining.add(item.key.slice(DRAIN_PREFIX.length))
  })

  const readRecords = Effect.gen(function*() {
    yield* readDrains
    const result = yield* Effect.result(kv.query({ op: "range", start: MEMBER_PREFIX, end: MEMBER_END, limit: 10_000 }, "serializable", timeout))
    if (Result.isFailure(result) || result.success.type !== "range") return
    records.clear()
    for (const item of result.success.items as ReadonlyArray<RangeItem>) {
      try {
        records.set(item.key.slice(MEMBER_PREFIX.length), JSON.parse(textDecoder.decode(item.value)) as MemberRecord)
      } catch {
        log("warn", "unreadable member record", { key: item.key.slice(1) })
      }
    }
  })

  const applyRecords = Effect.gen(function*() {
    yield* readRecords
    for (const [id, record] of records) {
      if (record.role === "removed") {
        if (!config.peers.has(id as NodeId)) apiPeers.delete(id as NodeId)
        yield* net.removePeer(id as NodeId)
        continue
      }
      if (record.apiAddress !== null) apiPeers.set(id as NodeId, record.apiAddress)
      const address = parseHostPort(record.peerAddress)
      if (address !== undefined) yield* net.addPeer(id as NodeId, address)
    }
  })

  /** One replicated put (or delete, with no value) of a reserved key; a message when it did not land. */
  const submit = async (key: string, value: Uint8Array | undefined): Promise<string | undefined> => {
    const outcome = await Effect.runPromise(Effect.result(kv.submit({
      clientId: `admin-${config.id}-${boot}-${++counter}`,
      seq: 1,
      command: value === undefined ? { op: "delete", key } : { op: "put", key, value }
    }, timeout)))
    if (Result.isFailure(outcome)) return `busy: could not record the change (${outcome.failure._tag}); retry`
    return undefined
  }

  const writeRecord = (id: string, record: MemberRecord): Promise<string | undefined> =>
    submit(`${MEMBER_PREFIX}${id}`, textEncoder.encode(JSON.stringify(record)))

  /** Proposes a configuration change and waits until this node has applied it. */
  const change = async (step: { readonly op: "add-voter" | "add-learner" | "remove"; readonly node: NodeId }): Promise<string | undefined> => {
    const outcome = await Effect.runPromise(kv.raft.changeMembership({ kind: "enter-joint", steps: [step] }))
    if (outcome === "dropped") return "busy: the leader refused the change (another membership change is still in progress, or leadership just moved); retry in a moment"
    const target = Effect.runSync(kv.raft.status).lastIndex
    const deadline = performance.now() + timeout
    while (performance.now() < deadline) {
      const s = Effect.runSync(kv.raft.status)
      if (s.applied >= target) return undefined
      await new Promise((r) => setTimeout(r, 50))
    }
    return `busy: the change was proposed but not committed within ${timeout} ms (is a majority of the cluster up?)`
  }

  const list: Members["list"] = async () => {
    await Effect.runPromise(readRecords)
    const out = new Map<string, MemberView>()
    for (const [id, address] of config.peers) {
      if (config.join && id === config.id && !records.has(id)) continue
      out.set(id, { id, peerAddress: formatHostPort(address), apiAddress: apiPeers.get(id) ?? null, role: "voter", source: "initial", zone: zoneOf(id) ?? null, draining: draining.has(id), weight: weightOf(id) })
    }
    const removed: Array<string> = []
    for (const [id, record] of records) {
      if (record.role === "removed") {
        out.delete(id)
        removed.push(id)
      } else out.set(id, { id, peerAddress: record.peerAddress, apiAddress: record.apiAddress, role: record.role, source: config.peers.has(id as NodeId) && !config.join ? "initial" : "added", zone: zoneOf(id) ?? null, draining: draining.has(id), weight: weightOf(id) })
    }
    const rebalance = hooks.rebalance === undefined ? null : await hooks.rebalance()
    return { members: [...out.values()].sort((a, b) => a.id.localeCompare(b.id)), removed, rebalance }
  }

  const add: Members["add"] = async (body) => {
    const decoded = Schema.decodeUnknownResult(AddRequest)(body, { onExcessProperty: "error" })
    if (Result.isFailure(decoded)) return `bad member: ${decoded.failure.message.replace(/\n\s*/g, " ")}`
    const req = decoded.success
    const current = await list()
    if (current.members.some((m) => m.id === req.id)) return `${req.id} is already a member`
    const role = req.learner === true ? "learner" : "voter"
    const recorded = await writeRecord(req.id, { peerAddress: req.peerAddress, apiAddress: req.apiAddress ?? null, role })
    if (recorded !== undefined) return recorded
    await Effect.runPromise(applyRecords)
    const failed = await change({ op: role === "learner" ? "add-learner" : "add-voter", node: req.id as NodeId })
    if (failed !== undefined) return failed
    log("info", "member added", { peer: req.id, peerAddress: req.peerAddress, role })
    return { added: req.id, role, peerAddress: req.peerAddress, apiAddress: req.apiAddress ?? null }
  }

  const remove: Members["remove"] = async (id) => {
    const current = await list()
    const member = current.members.find((m) => m.id === id)
    if (member === undefined) return `unknown member ${id}`
    if (current.members.filter((m) => m.role === "voter" && m.id !== id).length === 0) return "cannot remove the last voter"
    const failed = await change({ op: "remove", node: id as NodeId })
    if (failed !== undefined) return failed
    const recorded = await writeRecord(id, { peerAddress: member.peerAddress ?? "", apiAddress: member.apiAddress, role: "removed" })
    if (recorded !== undefined) return recorded
    log("info", "member removed", { peer: id })
    return { removed: id }
  }

  const drain: Members["drain"] = async (id, on) => {
    const current = await list()
    if (!current.members.some((m) => m.id === id)) return `unknown member ${id}`
    if (on && current.members.filter((m) => !m.draining && m.id !== id).length === 0) return "cannot drain the last member that is not draining"
    const failed = await submit(`${DRAIN_PREFIX}${id}`, on ? textEncoder.encode("draining") : undefined)
    if (failed !== undefined) return failed
    await Effect.runPromise(readDrains)
    hooks.afterDrain?.()
    log("info", on ? "member draining" : "member no longer draining", { peer: id })
    return { id, draining: on }
  }

  /**
   * The configuration change first, then the record: a record write that fails leaves a voter listed as a learner,
   * and promoting it again proposes an add-voter of a voter, which changes nothing, then writes the record.
   */
  const promote: Members["promote"] = async (id) => {
    const current = await list()
    const member = current.members.find((m) => m.id === id)
    if (member === undefined) return `unknown member ${id}`
    if (member.role !== "learner") return `${id} is not a learner: it is already a voter`
    const failed = await change({ op: "add-voter", node: id as NodeId })
    if (failed !== undefined) return failed
    const recorded = await writeRecord(id, { peerAddress: member.peerAddress ?? "", apiAddress: member.apiAddress, role: "voter" })
    if (recorded !== undefined) return recorded
    log("info", "learner promoted to voter", { peer: id })
    return { promoted: id, role: "voter" }
  }

  const sync = Effect.forever(Effect.andThen(applyRecords, Effect.sleep(500))) as Effect.Effect<never>

  return { apiAddress: (id) => apiPeers.get(id), list, add, remove, drain, promote, isDraining: (id) => draining.has(id), sync }
}
