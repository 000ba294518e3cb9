/**
 * Object bodies on the shard stores of the cluster: writing a body as
 * inline bytes, full copies or erasure-coded stripes, reading any byte range
 * back (degraded when shards are missing or rotten), and naming the shards
 * a body owns (for repair and garbage collection).
 *
 * Write path: the body streams in one stripe at a time (k × shard size
 * bytes in memory, never the whole object). The first stripe's worth
 * decides the storage class (`storageClassFor`): a body that ends inside it
 * is inline (≤ 4 KiB), copied to m+1 nodes (< k × 64 KiB) or one stripe of
 * smaller shards; a longer one is striped with full-size shards.
 *
 * Degraded writes (ADR 0012): a shard whose node is down or does not answer
 * in time is retried, then handed to a member that holds no shard of the
 * stripe yet (so a cluster with spare nodes stays fully redundant); if none
 * takes it, it is recorded as missing. A stripe counts as written when at
 * least its write quorum of shards is durable — k plus the configured spare
 * (`spareShards`, default 0, so writes go on while up to m nodes are down);
 * fewer fails the whole write, whose shards become garbage. A body stored
 * with j shards of a stripe missing survives m − j further losses until
 * repair writes the missing shards (repair.ts), m after.
 *
 * Read path: each shard read is checked against the CRC32C recorded in the
 * metadata at write time (on top of the shard store's own checksum), so a
 * stale, misdirected or rotten shard is never used; with fewer than k
 * healthy data shards for a stripe, parity shards are fetched and the data
 * reconstructed. A full copy is checked against the record's CRC32C of the
 * whole body (a copy is the whole body) and, when it fails, the next copy is
 * tried. (A full copy inside a multipart object has no CRC of its own in the
 * record, so only its length and the shard store's checksum guard it.)
 *
 * Checksums go through the Crc32c service (`config.checksum`): native in
 * production, core's pure one in the simulator, the same values.
 *
 * Shard ids: `<objectId>.r` (a full copy, the same id on each node) and
 * `<objectId>.<stripe>.<shard>`; everything before the first dot is the
 * object id, which garbage collection matches against committed metadata.
 */
import { Effect, Stream } from "effect"
import type { Crc32cShape } from "../checksum/crc32c-service.ts"
import * as Erasure from "../erasure/index.ts"
import { assert } from "../invariant/invariant.ts"
import type { NodeId } from "../node/node-id.ts"
import { DEFAULT_SHARD_BYTES, makeGeometry, shardSizeFor, stripeBytes, stripesForRange, type StripeGeometry } from "./layout.ts"
import { BODY_ID, type ObjectBody, type PartBody, type StripeRecord } from "./metadata.ts"
import { placeStripe, type PlacementNode } from "./placement.ts"
import { INLINE_MAX_BYTES, REPLICATE_BELOW_SHARD_BYTES, type ErasureScheme } from "./scheme.ts"
import type { ShardTransfer } from "./shard-transfer.ts"
import { ObjectBodyError, ObjectDataError, type ByteRange, type ObjectStoreUnavailableError } from "./object-api.ts"

/** A body stored on its own (a whole object or one part). */
export type SimpleBody = PartBody["body"]

export interface WrittenBody {
  readonly body: SimpleBody
  readonly size: number
  readonly crc32c: number
}

/** One shard a body owns: where it should be and what it must hash to. */
export interface ShardLocation {
  readonly node: NodeId
  readonly id: string
  /** Undefined for a full copy (checked against the object's CRC instead). */
  readonly crc32c: number | undefined
}

/** The one-node cluster's layout: chunks without parity (that cluster promises no redundancy). */
export const UNPROTECTED: ErasureScheme = { dataShards: 1, parityShards: 0 }

export interface ObjectDataConfig {
  readonly transfer: ShardTransfer
  /** The nodes shards may go to now (the cluster's current members). */
  readonly nodes: () => ReadonlyArray<PlacementNode>
  /**
   * The cluster's scheme for new bodies (a cluster setting, so it may need a
   * metadata read; cached by the caller); undefined on a one-node cluster
   * (one copy, no redundancy). Reads use the scheme each body records.
   */
  readonly scheme: Effect.Effect<ErasureScheme | undefined, ObjectStoreUnavailableError>
  readonly shardBytes?: number
  /** Tries per shard write before the shard is handed off or recorded missing. */
  readonly writeAttempts?: number
  /**
   * Shards beyond k that must be durable before a stripe counts as written
   * (capped at m; for copies, copies beyond the first). 0, the default, keeps
   * writes going while up to m nodes are down; m refuses every write that
   * cannot store every shard.
   */
  readonly spareShards?: number
  /** The Crc32c service, as the node was built with (read once there). */
  readonly checksum: Crc32cShape
}

export interface ObjectData {
  /** `bodyId` must be new (never used before) and match `BODY_ID`. */
  readonly write: <E>(bodyId: string, body: Stream.Stream<Uint8Array, E>, size: number | undefined) => Effect.Effect<WrittenBody, E | ObjectBodyError | ObjectDataError | ObjectStoreUnavailableError>
  /**
   * The bytes of `range` of a body of `size` bytes, each shard verified;
   * `crc32c` is the record's CRC32C of the whole body, what a full copy must hash to.
   */
  readonly read: (body: ObjectBody, size: number, range: ByteRange, crc32c: number) => Stream.Stream<Uint8Array, ObjectDataError>
  /** Removes a body's shards, best effort (garbage collection finds what this misses). */
  readonly remove: (body: ObjectBody) => Effect.Effect<void>
}

/** Every shard a body owns. */
export const shardLocations = (body: ObjectBody): ReadonlyArray<ShardLocation> => {
  switch (body.kind) {
    case "inline":
      return []
    case "replicated":
      return body.nodes.map((node) => ({ node: node as NodeId, id: `${body.id}.r`, crc32c: undefined }))
    case "striped":
      return body.stripes.flatMap((stripe, s) =>
        stripe.nodes.map((node, i) => ({ node: node as NodeId, id: `${body.id}.${s}.${i}`, crc32c: stripe.shardCrcs[i] }))
      )
    case "parts":
      return body.parts.flatMap((part) => shardLocations(part.body))
  }
}

/** The body id a shard id belongs to (garbage collection matches it against committed metadata). */
export const bodyIdOfShard = (shardId: string): string => shardId.slice(0, shardId.indexOf(".") < 0 ? shardId.length : shardId.indexOf("."))

export const makeObjectData = (config: ObjectDataConfig): ObjectData => {
  const transfer = config.transfer
  const attempts = config.writeAttempts ?? 3
  const spare = config.spareShards ?? 0
  const { crc32c, crc32cUpdate } = config.checksum
  assert(Number.isSafeInteger(spare) && spare >= 0, () => `spare shards ${spare}`)
  const codecs = new Map<string, Erasure.Codec>()
  const codecFor = (scheme: ErasureScheme): Erasure.Codec => {
    const name = `${scheme.dataShards}+${scheme.parityShards}`
    let codec = codecs.get(name)
    if (codec === undefined) codecs.set(name, codec = Erasure.makeCodec(scheme.dataShards, scheme.parityShards))
    return codec
  }

  const putShard = (node: NodeId, id: string, data: Uint8Array): Effect.Effect<void, ObjectDataError> =>
    Effect.gen(function*() {
      let problem = ""
      for (let attempt = 0; attempt < attempts; attempt++) {
        const result = yield* Effect.result(transfer.put(node, id, data))
        if (result._tag === "Success") return
        problem = result.failure.message
      }
      return yield* new ObjectDataError({ message: `could not store shard ${id} on ${node}: ${problem}` })
    })

  /**
   * Stores each slot's bytes on its node, or on a handoff member holding no
   * other slot of the set when its node fails; fails unless at least
   * `quorum` slots are durable. Returns where each slot is and which are missing.
   */
  const storeSlots = (
    slots: ReadonlyArray<{ readonly id: string; readonly data: Uint8Array }>,
    placed: ReadonlyArray<NodeId>,
    quorum: number
  ): Effect.Effect<{ readonly nodes: ReadonlyArray<NodeId>; readonly missing: ReadonlyArray<number> }, ObjectDataError> =>
    Effect.gen(function*() {
      assert(slots.length === placed.length && quorum >= 1 && quorum <= slots.length, () => `${slots.length} slots, ${placed.length} nodes, quorum ${quorum}`)
      const nodes = [...placed]
      const failed = new Set<NodeId>()
      const problems: Array<string> = []
      const missing = new Set<number>()
      yield* Effect.forEach(slots, (slot, i) =>
        Effect.catch(putShard(placed[i]!, slot.id, slot.data), (error) =>
          Effect.sync(() => {
            failed.add(placed[i]!)
            problems.push(error.message)
            missing.add(i)
          })), { concurrency: "unbounded", discard: true })
      // Handoffs one slot at a time, so two slots never pick the same spare member.
      for (const i of [...missing].sort((a, b) => a - b)) {
        for (;;) {
          const spare = config.nodes().filter((n) => !nodes.includes(n.id as NodeId) && !failed.has(n.id as NodeId))
          if (spare.length === 0) break
          const target = placeStripe(`${slots[i]!.id}.handoff`, spare, 1)[0]!.id as NodeId
          const r = yield* Effect.result(putShard(target, slots[i]!.id, slots[i]!.data))
          if (r._tag === "Success") {
            nodes[i] = target
            missing.delete(i)
            break
          }
          failed.add(target)
          problems.push(r.failure.message)
        }
      }
      if (slots.length - missing.size < quorum) {
        return yield* new ObjectDataError({ message: `${slots.length - missing.size} of ${slots.length} shards stored, ${quorum} needed: ${problems.join("; ")}` })
      }
      assert(new Set(nodes).size === nodes.length, "a slot handed off to a node holding another slot")
      return { nodes, missing: [...missing].sort((a, b) => a - b) }
    })

  const place = (id: string, count: number): Effect.Effect<ReadonlyArray<NodeId>, ObjectDataError> =>
    Effect.try({
      try: () => placeStripe(id, config.nodes(), count).map((n) => n.id as NodeId),
      catch: (e) => new ObjectDataError({ message: `cannot place ${count} shards: ${e instanceof Error ? e.message : String(e)}` })
    })

  const writeStripe = (scheme: ErasureScheme, objectId: string, index: number, data: ReadonlyArray<Uint8Array>): Effect.Effect<StripeRecord, ObjectDataError> =>
    Effect.gen(function*() {
      const k = scheme.dataShards
      const m = scheme.parityShards
      const shards = m === 0 ? data : Erasure.encode(codecFor(scheme), [...data, ...new Array<undefined>(m)])
      const nodes = yield* place(`${objectId}.${index}`, k + m)
      // A stripe is k+m shards of one size on k+m distinct nodes: any k of them rebuild it, any m may be lost.
      assert(shards.length === k + m && nodes.length === k + m, () => `stripe ${index} of ${objectId}: ${shards.length} shards on ${nodes.length} nodes, scheme ${k}+${m}`)
      assert(shards.every((s) => s.length === shards[0]!.length), () => `stripe ${index} of ${objectId}: shards of different sizes`)
      assert(new Set(nodes).size === nodes.length, () => `stripe ${index} of ${objectId}: two shards on one node`)
      const quorum = k + Math.min(spare, m)
      const stored = yield* storeSlots(shards.map((data, i) => ({ id: `${objectId}.${index}.${i}`, data })), nodes, quorum)
      const shardCrcs = shards.map((s) => crc32c(s))
      return stored.missing.length === 0 ? { nodes: stored.nodes, shardCrcs } : { nodes: stored.nodes, shardCrcs, missing: stored.missing }
    })

  const write: ObjectData["write"] = (objectId, body, size) =>
    Effect.gen(function*() {
      assert(BODY_ID.test(objectId), () => `bad body id ${objectId}`)
      const configured = yield* config.scheme
      // One node: 1+0 "stripes" (chunks with no parity) so that large bodies still stream.
      const scheme = configured ?? UNPROTECTED
      const maxShard = config.shardBytes ?? (configured === undefined ? 1024 * 1024 : DEFAULT_SHARD_BYTES)
      const k = scheme.dataShards
      const m = scheme.parityShards
      // The first stripe's worth is buffered before anything is written: it decides the class.
      const fullStripe = k * maxShard
      let buffer = new Uint8Array(Math.min(fullStripe, size ?? fullStripe))
      let filled = 0
      let total = 0
      let crc = 0
      const stripes: Array<StripeRecord> = []
      const flushStripe = Effect.suspend(() => {
        const shards = Array.from({ length: k }, (_, i) => buffer.subarray(i * maxShard, (i + 1) * maxShard))
        return Effect.map(writeStripe(scheme, objectId, stripes.length, shards), (record) => {
          stripes.push(record)
          filled = 0
        })
      })
      yield* Stream.runForEach(body, (chunk) =>
        Effect.gen(function*() {
          if (size !== undefined && total + chunk.length > size) {
            return yield* new ObjectBodyError({ message: `the body is longer than its announced ${size} bytes` })
          }
          crc = crc32cUpdate(crc, chunk)
          total += chunk.length
          let offset = 0
          while (offset < chunk.length) {
            if (buffer.length < fullStripe && filled + chunk.length - offset > buffer.length) {
              // Size unknown or still growing: widen the buffer up to a full stripe.
              const wider = new Uint8Array(Math.min(fullStripe, Math.max(buffer.length * 2, filled + chunk.length - offset)))
              wider.set(buffer.subarray(0, filled))
              buffer = wider
            }
            const n = Math.min(buffer.length - filled, chunk.length - offset)
            buffer.set(chunk.subarray(offset, offset + n), filled)
            filled += n
            offset += n
            if (filled === fullStripe) yield* flushStripe
          }
        })
      )
      if (size !== undefined && total !== size) {
        return yield* new ObjectBodyError({ message: `the body ended after ${total} of its announced ${size} bytes` })
      }
      let result: SimpleBody
      if (stripes.length === 0 && total <= INLINE_MAX_BYTES) {
        result = { kind: "inline", data: buffer.slice(0, total) }
      } else if (stripes.length === 0 && total < k * REPLICATE_BELOW_SHARD_BYTES) {
        const copies = yield* place(objectId, Math.min(m + 1, config.nodes().length))
        const data = buffer.subarray(0, total)
        const stored = yield* storeSlots(copies.map(() => ({ id: `${objectId}.r`, data })), copies, 1 + Math.min(spare, copies.length - 1))
        result = stored.missing.length === 0
          ? { kind: "replicated", id: objectId, nodes: stored.nodes }
          : { kind: "replicated", id: objectId, nodes: stored.nodes, missing: stored.missing }
      } else {
        // The last stripe: shards of the full size when other stripes exist, else sized to the body.
        const shardSize = stripes.length === 0 ? shardSizeFor(total, k, maxShard) : maxShard
        if (filled > 0) {
          const padded = new Uint8Array(k * shardSize)
          padded.set(buffer.subarray(0, filled))
          const shards = Array.from({ length: k }, (_, i) => padded.subarray(i * shardSize, (i + 1) * shardSize))
          stripes.push(yield* writeStripe(scheme, objectId, stripes.length, shards))
        }
        // Every byte is in a stripe, and no stripe is all padding.
        assert(stripes.length === Math.ceil(total / (k * shardSize)), () => `${objectId}: ${stripes.length} stripes for ${total} bytes`)
        result = { kind: "striped", id: objectId, scheme, shardSize, stripes }
      }
      return { body: result, size: total, crc32c: crc }
    })

  /** Data shards `wanted` of a stripe, each verified; reconstructed from parity when some are bad. */
  const readStripe = (
    g: StripeGeometry,
    body: Extract<ObjectBody, { readonly kind: "striped" }>,
    s: number,
    wanted: ReadonlyArray<number>
  ): Effect.Effect<ReadonlyArray<Uint8Array>, ObjectDataError> =>
    Effect.gen(function*() {
      const stripe = body.stripes[s]!
      const total = body.scheme.dataShards + body.scheme.parityShards
      const shards: Array<Uint8Array | undefined> = new Array(total)
      const fetchShard = (i: number, evenIfSuspected = false) =>
        // A shard recorded missing is not asked for: its node may be down, and the answer is known.
        stripe.missing?.includes(i) === true ? Effect.void : Effect.map(Effect.result(transfer.get(stripe.nodes[i]! as NodeId, `${body.id}.${s}.${i}`, { evenIfSuspected })), (r) => {
          // The recorded CRC rules out stale or misdirected shards that carry a valid store checksum.
          if (r._tag === "Success" && r.success.length === g.shardSize && crc32c(r.success) === stripe.shardCrcs[i]) shards[i] = r.success
        })
      yield* Effect.forEach(wanted, (i) => fetchShard(i), { concurrency: "unbounded", discard: true })
      if (wanted.every((i) => shards[i] !== undefined)) return wanted.map((i) => shards[i]!)
      // Degraded: fetch the rest until k healthy shards are known.
      const rest = Array.from({ length: total }, (_, i) => i).filter((i) => !wanted.includes(i))
      yield* Effect.forEach(rest, (i) => fetchShard(i), { concurrency: "unbounded", discard: true })
      if (shards.filter((x) => x !== undefined).length < body.scheme.dataShards) {
        // Short of k: ask the nodes suspected of being down too, rather than fail a read one of them could serve.
        const unread = Array.from({ length: total }, (_, i) => i).filter((i) => shards[i] === undefined)
        yield* Effect.forEach(unread, (i) => fetchShard(i, true), { concurrency: "unbounded", discard: true })
      }
      const healthy = shards.filter((x) => x !== undefined).length
      if (healthy < body.scheme.dataShards) {
        return yield* new ObjectDataError({ message: `stripe ${s} of ${body.id}: ${healthy} healthy shards, ${body.scheme.dataShards} needed` })
      }
      const codec = codecFor(body.scheme)
      // (healthy ≥ k with missing data shards implies parity exists, so the codec is valid.)
      const rebuilt = Erasure.reconstructData(codec, shards)
      return wanted.map((i) => rebuilt[i]!)
    })

  /** `crc` checks a full copy: the body's CRC32C, or undefined for a part (whose CRC the record does not keep). */
  const readSimple = (body: SimpleBody, size: number, range: ByteRange, crc: number | undefined): Stream.Stream<Uint8Array, ObjectDataError> => {
    switch (body.kind) {
      case "inline":
        return Stream.succeed(body.data.subarray(range.start, range.end))
      case "replicated":
        return Stream.fromEffect(
          Effect.gen(function*() {
            let problem = "no copies"
            // Every copy, then (when none answered) every copy again even from nodes suspected of being down.
            for (const evenIfSuspected of [false, true]) {
              for (const [i, node] of body.nodes.entries()) {
                if (body.missing?.includes(i) === true) continue
                const r = yield* Effect.result(transfer.get(node as NodeId, `${body.id}.r`, { evenIfSuspected }))
                if (r._tag === "Failure") {
                  problem = r.failure.message
                  continue
                }
                // The shard store checked its own checksum; this one also rules out a stale or misdirected copy.
                if (r.success.length !== size) problem = `${node}: a copy of the wrong size`
                else if (crc !== undefined && crc32c(r.success) !== crc) problem = `${node}: a copy whose CRC32C does not match the record`
                else return r.success.subarray(range.start, range.end)
              }
            }
            return yield* new ObjectDataError({ message: `no intact copy of ${body.id}: ${problem}` })
          })
        )
      case "striped": {
        const g = makeGeometry(size, body.scheme.dataShards, body.shardSize)
        const { first, end } = stripesForRange(g, range.start, range.end)
        const perStripe = stripeBytes(g)
        return Stream.fromIterable(Array.from({ length: end - first }, (_, i) => first + i)).pipe(
          Stream.mapEffect((s) =>
            Effect.gen(function*() {
              const from = Math.max(range.start, s * perStripe) - s * perStripe
              const to = Math.min(range.end, (s + 1) * perStripe) - s * perStripe
              const firstShard = Math.floor(from / g.shardSize)
              const lastShard = Math.floor((to - 1) / g.shardSize)
              const wanted = Array.from({ length: lastShard - firstShard + 1 }, (_, i) => firstShard + i)
              const shards = yield* readStripe(g, body, s, wanted)
              const out = new Uint8Array(to - from)
              let pos = 0
              for (let j = 0; j < shards.length; j++) {
                const shardStart = (firstShard + j) * g.shardSize
                const a = Math.max(from, shardStart) - shardStart
                const b = Math.min(to, shardStart + g.shardSize) - shardStart
                out.set(shards[j]!.subarray(a, b), pos)
                pos += b - a
              }
              return out
            })
          )
        )
      }
    }
  }

  const read: ObjectData["read"] = (body, size, range, crc) => {
    assert(0 <= range.start && range.start <= range.end && range.end <= size, "read range within the object")
    if (range.start === range.end) return Stream.empty
    if (body.kind !== "parts") return readSimple(body, size, range, crc)
    // The parts the range touches, each read for its share of the range.
    const pieces: Array<Stream.Stream<Uint8Array, ObjectDataError>> = []
    let offset = 0
    for (const part of body.parts) {
      const a = Math.max(range.start, offset)
      const b = Math.min(range.end, offset + part.size)
      const within = { start: a - offset, end: b - offset }
      if (a < b) pieces.push(Stream.suspend(() => readSimple(part.body, part.size, within, undefined)))
      offset += part.size
    }
    return pieces.reduce((all, piece) => Stream.concat(all, piece), Stream.empty as Stream.Stream<Uint8Array, ObjectDataError>)
  }

  const remove: ObjectData["remove"] = (body) =>
    Effect.forEach(shardLocations(body), (loc) => Effect.ignore(transfer.remove(loc.node, loc.id)), { concurrency: 8, discard: true })

  return { write, read, remove }
}
