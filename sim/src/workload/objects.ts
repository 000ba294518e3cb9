/**
 * The object workload: erasure-coded objects under faults. Every node runs
 * the KV server and the object layer; a client co-located with each node
 * (one per incarnation, a fresh Jepsen process each time, as a gateway
 * restarting with its node) puts, gets and deletes a few keys through that
 * node's `ObjectStore` with bodies of every storage class (inline, copied,
 * striped over one or several stripes).
 *
 * What the run checks:
 * - every body a get returns is byte for byte one that was put (bodies are
 *   derived from a unique value id, so a wrong, stale-stripe or mixed body
 *   is caught, not only a wrong length; a body under 8 bytes, too short to
 *   carry the id, is named by an attribute of its inline record);
 * - the history (put = write v, delete = write nil, get = read) is
 *   linearizable per key — which includes that no acknowledged put is lost;
 * - after the heal every client completes operations again (liveness);
 * - after the heal a repair sweep leaves every object at full redundancy:
 *   a second sweep finds nothing to rebuild and no stripe lost.
 *
 * Node additions: some seeds start with one node outside the members that
 * shards are placed on (it runs, votes and serves a client) and add it at a
 * drawn time, as `cairn cluster add` followed by placement seeing it would.
 * Those runs rebalance (core/src/object/rebalance.ts) in the background on
 * the leader, under every fault; at the end, between the two repair sweeps,
 * the records the finished background passes must have seen may keep no
 * misplaced shard, then a whole rebalance pass from the first record runs
 * to completion, and then no shard may be misplaced, and the second sweep
 * must find every moved shard intact.
 *
 * The fault budget: shards survive any m losses, so the run wipes the shard
 * disks of up to m nodes once (each seed draws when and which), and lets disk
 * corruption hit at most those m nodes (the rest keep crashes, lost unsynced
 * writes, write errors and slowness); Raft itself is checked under
 * corruption everywhere by the raft-kv workload.
 */
import { Clock, Disk, Random, type NodeId } from "@cairn/core"
import { Buffer } from "node:buffer"
import type { ObjectNode } from "@cairn/core/object/object-node"
import { collectBody } from "@cairn/core/object/object-store"
import { OBJECT_PREFIX, objectKey, scanPrefix, VERSION_PREFIX } from "@cairn/core/object/catalog-keys"
import { misplacedShards } from "@cairn/core/object/rebalance-plan"
import { REBALANCE_KEY } from "@cairn/core/object/rebalance"
import { bodyIds } from "@cairn/core/object/garbage"
import { decodeObjectMeta, type ObjectMeta } from "@cairn/core/object/metadata"
import type { RepairReport } from "@cairn/core/object/repair"
import type { Op, Value } from "@cairn/jepsen"
import { Effect, Stream } from "effect"
import type { NodeProgram } from "../cluster.ts"
import { objectServers } from "../object/object-cluster.ts"

export interface ObjectsWorkload {
  readonly server: NodeProgram
  readonly history: ReadonlyArray<Op>
  readonly counts: { ok: number; fail: number; info: number }
  /** Virtual ns of each node's client's last ok operation. */
  readonly lastOk: Map<NodeId, number>
  /** Reads that returned bytes no put wrote. */
  readonly corruptReads: ReadonlyArray<string>
  /** The two repair sweeps after the heal, once they ran. */
  readonly repairs: () => ReadonlyArray<RepairReport> | undefined
  readonly node: (id: NodeId) => ObjectNode | undefined
  /** The archive objects written, and what the final check found wrong with them. */
  readonly archive: () => { readonly written: number; readonly problems: ReadonlyArray<ArchiveProblem> }
  /** Shards rebuilt by background repair, removed by GC, wiped by disk loss, moved by rebalancing. */
  readonly totals: {
    readonly shardsRebuilt: number
    readonly missingWritten: number
    readonly gcRemoved: number
    readonly shardsWiped: number
    readonly rebuiltFrom: ReadonlySet<string>
    readonly rebalanced: number
  }
  /** With a node added: shards misplaced after the final rebalance pass (undefined before it ran, or without one). */
  readonly misplacedAtEnd: () => number | undefined
  /**
   * With a node added: shards the background passes left misplaced in records acknowledged before
   * the last of those passes began, which it must have seen (undefined before the check ran).
   */
  readonly missedByPasses: () => number | undefined
}

/** An archive object that did not read back as written; `bodies` are the body ids its record names. */
export interface ArchiveProblem {
  readonly message: string
  /** The read failed (as opposed to returning other bytes). */
  readonly unreadable: boolean
  readonly bodies: ReadonlyArray<string>
}

/** Body sizes: inline, copied, one stripe, several stripes (2+1 with 256 KiB shards: 512 KiB per stripe). */
const sizeClasses: ReadonlyArray<readonly [number, number]> = [[0, 4096], [4097, 120_000], [131_072, 500_000], [600_000, 1_300_000]]

/** Writes the bytes after the header of `bodyOf(v, out.length)` into `out`, up to `size`. */
const fillTail = (out: Uint8Array, v: number, size: number): void => {
  let x = (v * 2654435761) >>> 0
  for (let i = 8; i < size; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) >>> 0
    out[i] = x & 0xff
  }
}

/** The body for value `v`: 8 header bytes (v, size) then bytes derived from both. */
export const bodyOf = (v: number, size: number): Uint8Array => {
  const out = new Uint8Array(size)
  const header = new Uint8Array(8)
  new DataView(header.buffer).setUint32(0, v)
  new DataView(header.buffer).setUint32(4, size)
  out.set(header.subarray(0, Math.min(8, size)))
  fillTail(out, v, size)
  return out
}

/**
 * Reused by `tailMatches` for the expected bytes, so checking a read builds
 * no new body; it grows to the largest body checked.
 */
let scratch = new Uint8Array(0)

/**
 * Whether the bytes after the header are `bodyOf(v, body.length)`'s. The
 * expected bytes are generated into one reused, always-plain `Uint8Array`
 * (a loop over the read body itself, which may be a Buffer or another view,
 * loses V8's fast path) and compared natively.
 */
const tailMatches = (body: Uint8Array, v: number, recent: RecentBodies | undefined): boolean => {
  const got = Buffer.from(body.buffer, body.byteOffset + 8, body.length - 8)
  const known = recent?.get(v)
  if (known !== undefined && known.length === body.length) return got.equals(Buffer.from(known.buffer, known.byteOffset + 8, known.length - 8))
  if (scratch.length < body.length) scratch = new Uint8Array(body.length)
  fillTail(scratch, v, body.length)
  return got.equals(Buffer.from(scratch.buffer, 8, body.length - 8))
}

/**
 * The bodies of one run's most recent puts, by value, up to a byte budget
 * (the oldest go first). Generating a body is a serial loop over its bytes,
 * the workload's largest cost of its own; reads mostly return a recent
 * value, so checking them against the bytes already generated for the put
 * saves generating them again. The bytes compared are the same either way.
 */
export class RecentBodies {
  private readonly bodies = new Map<number, Uint8Array>()
  private bytes = 0
  private readonly budget: number

  constructor(budget: number) {
    this.budget = budget
  }

  /** The body of a new put of `v`: generated, remembered, and returned as a copy of its own to hand to the store. */
  put(v: number, size: number): Uint8Array {
    const body = bodyOf(v, size)
    this.bodies.set(v, body)
    this.bytes += size
    for (const [old, kept] of this.bodies) {
      if (this.bytes <= this.budget) break
      this.bodies.delete(old)
      this.bytes -= kept.length
    }
    return body.slice()
  }

  get(v: number): Uint8Array | undefined {
    return this.bodies.get(v)
  }
}

/** Bytes of recent bodies a run keeps for its read checks. */
const recentBodiesBudget = 64 * 1024 * 1024

/**
 * The attribute that names the value of a body too short for the header.
 * Such bodies do not tell values apart (every value's 1-byte body is its
 * header's first byte, 0 for any value below 2^24; every 0-byte body is
 * empty), so matching the bytes alone answered the first value ever written
 * at that size: objects seed 932 read the current 1-byte body of value 340
 * as value 86, a 1-byte body written 12 s earlier to another key: a
 * stale read that never happened. A body under 8 bytes is always inline
 * (≤ 4 KiB), in the same metadata record as its attributes, so the
 * attribute names the value exactly as reliably as the bytes would.
 */
const TINY_VALUE = "sim-value"

/** The attributes a put of value `v` stores: the value's name for a body too short for the header. */
export const attributesFor = (v: number, size: number): ReadonlyArray<readonly [string, string]> =>
  size < 8 ? [[TINY_VALUE, String(v)]] : []

/**
 * The value a body was derived from, or undefined if it is not exactly some
 * `bodyOf(v, size)`. A body under 8 bytes is the value its attributes name
 * (see `attributesFor`), if its bytes are that value's.
 */
export const valueOfBody = (
  body: Uint8Array,
  sizes: ReadonlyMap<number, number>,
  attributes: ReadonlyArray<readonly [string, string]> = [],
  recent?: RecentBodies
): number | undefined => {
  if (body.length < 8) {
    const named = attributes.find(([name]) => name === TINY_VALUE)?.[1]
    const v = named === undefined ? undefined : Number(named)
    if (v === undefined || sizes.get(v) !== body.length) return undefined
    return bodyOf(v, body.length).every((b, i) => b === body[i]) ? v : undefined
  }
  // The header holds (v, size), so it matches by construction once both are checked.
  const view = new DataView(body.buffer, body.byteOffset, 8)
  const v = view.getUint32(0)
  if (view.getUint32(4) !== body.length || sizes.get(v) !== body.length) return undefined
  return tailMatches(body, v, recent) ? v : undefined
}

export const objectsWorkload = (options: {
  readonly voters: ReadonlyArray<NodeId>
  readonly keys: number
  readonly now: () => number
  readonly stopAtNs: number
  /** When (virtual ns) to run the final repair sweeps, after the heal. */
  readonly repairAtNs: number
  /** Disks lost: at `atNs` these nodes' shard directories are wiped (as a replaced disk would be). */
  readonly diskLoss: { readonly atNs: number; readonly nodes: ReadonlyArray<NodeId> } | undefined
  readonly fired: (kind: string) => void
  /** Test-only: garbage collection removes unreferenced shards at first sight (no grace). */
  readonly plantedBug?: "gc-without-grace"
  /** A node added to the members at `atNs` (placement excludes it before); undefined: the members never change. */
  readonly grow?: { readonly atNs: number; readonly node: NodeId } | undefined
}): ObjectsWorkload => {
  const history: Array<Op> = []
  const counts = { ok: 0, fail: 0, info: 0 }
  const lastOk = new Map<NodeId, number>()
  const corruptReads: Array<string> = []
  const sizes = new Map<number, number>()
  const recent = new RecentBodies(recentBodiesBudget)
  let nextProcess = 0
  let nextValue = 1
  let repairs: Array<RepairReport> | undefined
  const totals = { shardsRebuilt: 0, missingWritten: 0, gcRemoved: 0, shardsWiped: 0, rebuiltFrom: new Set<string>(), rebalanced: 0 }
  let misplacedAtEnd: number | undefined
  let missedByPasses: number | undefined
  /** When (virtual ns) each acknowledged put began and was acknowledged, by version id. */
  const puts = new Map<string, { readonly invokedNs: number; readonly ackedNs: number }>()
  /** When the last rebalance pass began (a step ended one and started the next). */
  let lastPassStartNs: number | undefined
  let grown = false
  /** The members shards are placed on: all voters, but the node to add until its time. */
  const members = (): ReadonlyArray<NodeId> => {
    const grow = options.grow
    if (grow === undefined) return options.voters
    if (options.now() < grow.atNs) return options.voters.filter((v) => v !== grow.node)
    if (!grown) {
      grown = true
      options.fired("objects.node-added")
    }
    return options.voters
  }
  const wiped = new Set<NodeId>()
  /** Operations invoked and not yet completed (the final sweeps wait for none). */
  let inFlight = 0
  // Counted until it ends, also when a crash interrupts it.
  const tracked = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      inFlight++
      return Effect.ensuring(effect, Effect.sync(() => inFlight--))
    })
  const record = (op: Omit<Op, "index" | "time">) => history.push({ ...op, index: history.length, time: options.now() })

  /**
   * Objects written once, early, and never touched again: disk loss and rot
   * reach them for sure (the other keys are overwritten every few hundred
   * ms), so only repair keeps them at full redundancy.
   */
  const archive = new Map<string, number>()
  let archiving = false
  const writeArchive = (store: ObjectNode["store"]) =>
    Effect.gen(function*() {
      if (archiving) return
      archiving = true
      for (const [i, size] of [300_000, 700_000, 1_100_000, 50_000].entries()) {
        const v = nextValue++
        sizes.set(v, size)
        for (let attempt = 0; attempt < 20 && !archive.has(`archive-${i}`); attempt++) {
          const invokedNs = options.now()
          const r = yield* Effect.result(store.putObject({ bucket: "b", key: `archive-${i}`, body: Stream.fromIterable(chunksOf(recent.put(v, size), 65_521)), size, finish: () => Effect.succeed([]) }))
          if (r._tag === "Success") {
            archive.set(`archive-${i}`, v)
            puts.set(r.success.versionId, { invokedNs, ackedNs: options.now() })
          }
        }
      }
    })

  /** After the final sweeps: every archive object reads back as written (a failed read names the bodies its record holds). */
  const checkArchive = (node: ObjectNode) =>
    Effect.forEach([...archive], ([key, v]) =>
      Effect.gen(function*() {
        const got = yield* Effect.result(Effect.flatMap(node.store.getObject("b", key), (out) => collectBody(out.body)))
        if (got._tag === "Failure") {
          const record = yield* Effect.result(node.kv.read({ op: "get", key: objectKey("b", key) }))
          const meta = record._tag === "Success" && record.success.type === "get" && record.success.found ? decodeObjectMeta(record.success.value) : undefined
          const bodies = meta !== undefined && meta._tag === "Success" ? bodyIds(meta.success.body) : []
          archiveProblems.push({ message: `${key}: ${got.failure._tag} ${"message" in got.failure ? got.failure.message : ""}`, unreadable: true, bodies })
        } else if (valueOfBody(got.success, sizes, [], recent) !== v) archiveProblems.push({ message: `${key}: other bytes than written`, unreadable: false, bodies: [] })
      }), { discard: true })
  const archiveProblems: Array<ArchiveProblem> = []

  /** Shards not where the current members place them, in the records `judged` selects; undefined if the scan failed. */
  const misplacedIn = (node: ObjectNode, judged: (meta: ObjectMeta) => boolean) =>
    Effect.gen(function*() {
      const placement = members().map((id) => ({ id, domain: id }))
      let misplaced = 0
      for (const prefix of [OBJECT_PREFIX, VERSION_PREFIX]) {
        const items = yield* Effect.result(scanPrefix(node.kv, prefix))
        if (items._tag === "Failure") return undefined
        for (const item of items.success) {
          const meta = decodeObjectMeta(item.value)
          if (meta._tag === "Success" && judged(meta.success)) misplaced += misplacedShards(meta.success.body, meta.success.size, placement)
        }
      }
      return misplaced
    })

  /** Steps the stored pass until it is done (bounded). */
  const stepToDone = (node: ObjectNode) =>
    Effect.gen(function*() {
      for (let i = 0; i < 500; i++) {
        const step = yield* Effect.result(node.rebalancer.step)
        if (step._tag === "Success") {
          totals.rebalanced += step.success.shardsMoved
          if (step.success.cursor.done) return
        }
      }
    })

  /**
   * Two checks. First the background passes, when they are done: every record acknowledged before
   * the last of them began, or placed over the members before the join, was seen by it (the settling
   * pass exists for the latter), so none may keep a misplaced shard. Records written since may
   * (a write that handed a shard to a spare member when its node failed: objects seed 692), until a
   * pass runs again. Then a whole pass from the first record, and its settling pass, run to the end
   * (the cursor is removed, as in a cluster that never rebalanced), and no shard may be misplaced.
   */
  const finalRebalance = (node: ObjectNode) =>
    Effect.gen(function*() {
      let stored = yield* Effect.result(node.rebalancer.cursor)
      for (let i = 0; i < 20 && stored._tag === "Failure"; i++) stored = yield* Effect.result(node.rebalancer.cursor)
      // Left undefined, the oracle reports that the final pass did not complete.
      if (stored._tag === "Failure") return
      const joinedNs = options.grow?.atNs ?? 0
      // Seen by the last pass: acknowledged before it began, or placed over the members before the
      // join (such a put commits within maxWriteMs or never, before the settling pass begins).
      const seen = (meta: ObjectMeta) => {
        const put = puts.get(meta.versionId)
        return put !== undefined && (put.ackedNs < (lastPassStartNs ?? 0) || put.invokedNs < joinedNs)
      }
      // Passes still under way (shards waiting for repair, a node that did not answer) are judged by the second check only.
      missedByPasses = stored.success?.done === true ? yield* misplacedIn(node, seen) : 0
      let removed = false
      for (let i = 0; i < 20 && !removed; i++) removed = (yield* Effect.result(node.kv.write({ op: "delete", key: REBALANCE_KEY })))._tag === "Success"
      // Left undefined, the oracle reports that the final pass did not complete.
      if (!removed) return
      yield* stepToDone(node)
      misplacedAtEnd = yield* misplacedIn(node, () => true)
    })

  const client = (id: NodeId, node: ObjectNode): Effect.Effect<void, never, Clock | Random> =>
    Effect.gen(function*() {
      const clock = yield* Clock
      const random = yield* Random
      const process = nextProcess++
      const store = node.store
      // The bucket: created once by whoever gets there first, who also writes the archive.
      for (;;) {
        const created = yield* Effect.result(store.createBucket("b", "sim"))
        if (created._tag === "Success" || created.failure._tag === "BucketExistsError") break
        yield* clock.sleep(200)
      }
      yield* writeArchive(store)
      while (options.now() < options.stopAtNs) {
        yield* clock.sleep(yield* random.nextIntBetween(5, 60))
        const key = `k${yield* random.nextIntBetween(0, options.keys - 1)}`
        const dice = yield* random.nextIntBetween(0, 99)
        if (dice < 45) {
          record({ process, type: "invoke", f: "read", value: [key, null] })
          const got = yield* tracked(Effect.result(Effect.flatMap(store.getObject("b", key), (out) =>
            Effect.map(collectBody(out.body), (bytes) => ({ bytes, attributes: out.info.attributes })))))
          if (got._tag === "Failure") {
            if (got.failure._tag === "NoSuchKeyError") {
              record({ process, type: "ok", f: "read", value: [key, null] })
              counts.ok++
              lastOk.set(id, options.now())
            } else {
              record({ process, type: "fail", f: "read", value: [key, null] })
              counts.fail++
            }
            continue
          }
          const v = valueOfBody(got.success.bytes, sizes, got.success.attributes, recent)
          if (v === undefined) corruptReads.push(`${id} read ${key}: ${got.success.bytes.length} bytes that no put wrote`)
          const value: Value = v ?? -1
          record({ process, type: "ok", f: "read", value: [key, value] })
          counts.ok++
          lastOk.set(id, options.now())
        } else {
          const remove = dice >= 88
          const v = remove ? null : nextValue++
          let size = 0
          if (v !== null) {
            const [lo, hi] = sizeClasses[yield* random.nextIntBetween(0, sizeClasses.length - 1)]!
            size = yield* random.nextIntBetween(lo, hi)
            sizes.set(v, size)
          }
          record({ process, type: "invoke", f: "write", value: [key, v] })
          const invokedNs = options.now()
          const result = v === null
            ? yield* tracked(Effect.result(store.deleteObject("b", key)))
            : yield* tracked(Effect.result(store.putObject({
              bucket: "b",
              key,
              // Chunks of uneven sizes, as a network delivers them.
              body: Stream.fromIterable(chunksOf(recent.put(v, size), 65_521)),
              size,
              finish: () => Effect.succeed(attributesFor(v, size))
            })))
          if (result._tag === "Success") {
            if ("versionId" in result.success) puts.set(result.success.versionId, { invokedNs, ackedNs: options.now() })
            record({ process, type: "ok", f: "write", value: [key, v] })
            counts.ok++
            lastOk.set(id, options.now())
          } else if (result.failure._tag === "ObjectStoreUnavailableError" && result.failure.ambiguous) {
            record({ process, type: "info", f: "write", value: [key, v] })
            counts.info++
          } else {
            // Nothing was committed: the body failed, or the metadata write surely did not happen.
            record({ process, type: "fail", f: "write", value: [key, v] })
            counts.fail++
          }
        }
      }
    })

  const servers = objectServers({
    voters: options.voters,
    ...(options.grow === undefined ? {} : { members }),
    object: {
      // Throttled well below the clients' traffic; checks for a membership change every second.
      ...(options.grow === undefined ? {} : { rebalance: { intervalMs: 1_000, retryAfterMs: 2_000, maxInFlight: 2, bytesPerSecond: 4 << 20, pageSize: 20 } }),
      gcIntervalMs: 2_000,
      repairIntervalMs: 3_000,
      maxWriteMs: 4_000,
      transferTimeoutMs: 500,
      kvTimeoutMs: 500,
      ...(options.plantedBug === undefined ? {} : { plantedBug: options.plantedBug }),
      onSweep: (sweep) => {
        if (sweep.kind === "repair" || sweep.kind === "repair-degraded") {
          totals.shardsRebuilt += sweep.report.shardsRebuilt
          totals.missingWritten += sweep.report.marksCleared
          for (const node of sweep.report.rebuiltFrom) totals.rebuiltFrom.add(node)
        }
        else if (sweep.kind === "gc") totals.gcRemoved += sweep.report.removedShards
        else {
          totals.rebalanced += sweep.report.shardsMoved
          if (sweep.report.passEnded !== undefined) lastPassStartNs = options.now()
        }
      }
    },
    onStart: (id, node) =>
      Effect.gen(function*() {
        const clock = yield* Clock
        const loss = options.diskLoss
        if (loss !== undefined && loss.nodes.includes(id) && !wiped.has(id)) {
          // The node's shard disk is replaced by an empty one: every shard on it is gone at once.
          yield* Effect.forkScoped(Effect.gen(function*() {
            yield* clock.sleep(Math.max(0, (loss.atNs - options.now()) / 1e6))
            const disk = yield* Disk
            const names = yield* Effect.orElseSucceed(disk.list("shards"), () => [] as ReadonlyArray<string>)
            for (const name of names) yield* Effect.ignore(disk.remove(`shards/${name}`))
            yield* Effect.ignore(disk.syncDirectory("shards"))
            totals.shardsWiped += names.length
            options.fired("objects.disk-loss")
            wiped.add(id)
          }))
        }
        // The last incarnation of the first node to reach the repair time runs the final sweeps.
        const sweeps = Effect.gen(function*() {
          const wait = (options.repairAtNs - options.now()) / 1e6
          if (wait < 0) return
          yield* clock.sleep(wait)
          // Only once the clients have stopped: a body committed during the first sweep is not one it checked.
          while (inFlight > 0) yield* clock.sleep(50)
          if (repairs !== undefined) return
          repairs = []
          const first = yield* Effect.result(node.repairer.sweep)
          if (options.grow !== undefined) yield* finalRebalance(node)
          const second = yield* Effect.result(node.repairer.sweep)
          for (const r of [first, second]) if (r._tag === "Success") repairs.push(r.success)
          yield* checkArchive(node)
        })
        yield* Effect.forkScoped(sweeps)
        yield* client(id, node)
        yield* Effect.never
      }).pipe(Effect.scoped)
  })

  return { server: servers.server, history, counts, lastOk, corruptReads, repairs: () => repairs, totals, misplacedAtEnd: () => misplacedAtEnd, missedByPasses: () => missedByPasses, archive: () => ({ written: archive.size, problems: archiveProblems }), node: servers.node }
}

const chunksOf = (data: Uint8Array, size: number): ReadonlyArray<Uint8Array> =>
  Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size))
