/**
 * Copying committed batches between the replicas of one partition: what a
 * replica does when a restored partition snapshot (installed from the
 * leader, or its own after a crash that cost it unsynced segment data)
 * starts above the end of its segment log, and Raft no longer holds the
 * entries in between. Any peer's segment log will do: it only ever holds
 * committed batches, the same bytes at the same offsets on every replica.
 *
 * A request/response protocol on the group's own network, next to its Raft
 * messages (frame kinds 64 and 65 there, above Raft's): a request names an
 * offset and a byte budget; the answer carries whole stored batches from
 * the one holding that offset (none if the peer's log does not reach it, or
 * starts after it: retention there removed it), and the peer's bounds.
 * Requests go to the peers in turn, one at a time, each with a timeout; the
 * network may lose, delay or copy either message, so an answer is matched
 * by request id and its batches are checked to continue the log by the
 * caller.
 */
import { Deferred, Effect, type Scope } from "effect"
import type { ClockShape } from "../../clock/clock.ts"
import { frame } from "../../codec/frame.ts"
import type { Reader } from "../../codec/reader.ts"
import { Writer } from "../../codec/writer.ts"
import { assert } from "../../invariant/invariant.ts"
import type { NetworkShape } from "../../network/network.ts"
import type { NodeId } from "../../node/node-id.ts"
import { FIRST_FOREIGN_KIND } from "../../raft/codec.ts"
import type { PartitionLog } from "../partition-log.ts"
import { baseOffsetOf } from "../record-batch.ts"

export const CATCH_UP_REQUEST_KIND = FIRST_FOREIGN_KIND
export const CATCH_UP_RESPONSE_KIND = FIRST_FOREIGN_KIND + 1

export interface FetchedBatch {
  readonly baseOffset: number
  readonly stored: Uint8Array
}

export interface SegmentCatchUp {
  /** Stored batches from `from` on, from the first peer that has them; empty after a round of peers that could not help. */
  readonly batchesFrom: (from: number) => Effect.Effect<ReadonlyArray<FetchedBatch>>
  /** Serves a peer's request or takes an answer; register it for both kinds on the group's demultiplexer. */
  readonly onFrame: (from: NodeId, kind: number, body: Reader) => Effect.Effect<void>
  /** Batches this replica received from peers (for tests and stats). */
  readonly copied: () => number
}

export interface SegmentCatchUpConfig {
  readonly self: NodeId
  readonly voters: ReadonlyArray<NodeId>
  readonly network: NetworkShape
  readonly clock: ClockShape
  /** The log the replica serves from (the one it writes to, too). */
  readonly log: PartitionLog
  /** First request id (drawn per opening, so an answer to a previous opening's request rarely matches). */
  readonly firstRequestId: number
  readonly timeoutMs: number
  /** Bytes of batches per answer. */
  readonly maxBytes: number
  /** Where serving reads run (a handler must not block). */
  readonly scope: Scope.Scope
}

const encodeRequest = (requestId: number, from: number, maxBytes: number): Uint8Array => {
  const w = new Writer()
  w.uint(requestId)
  w.uint(from)
  w.uint(maxBytes)
  return frame(CATCH_UP_REQUEST_KIND, w.finish())
}

const encodeResponse = (requestId: number, batches: ReadonlyArray<Uint8Array>): Uint8Array => {
  const w = new Writer()
  w.uint(requestId)
  w.u32(batches.length)
  for (const b of batches) w.raw(b)
  return frame(CATCH_UP_RESPONSE_KIND, w.finish())
}

export const makeSegmentCatchUp = (config: SegmentCatchUpConfig): SegmentCatchUp => {
  const peers = config.voters.filter((v) => v !== config.self)
  const waiting = new Map<number, Deferred.Deferred<ReadonlyArray<Uint8Array>>>()
  let nextRequestId = config.firstRequestId
  let nextPeer = 0
  let copied = 0

  const ask = (peer: NodeId, from: number) =>
    Effect.gen(function*() {
      const requestId = nextRequestId++
      const answer = yield* Deferred.make<ReadonlyArray<Uint8Array>>()
      waiting.set(requestId, answer)
      yield* config.network.send(peer, encodeRequest(requestId, from, config.maxBytes))
      const batches = yield* Effect.raceFirst(Deferred.await(answer), Effect.as(config.clock.sleep(config.timeoutMs), []))
      waiting.delete(requestId)
      return batches
    })

  const batchesFrom: SegmentCatchUp["batchesFrom"] = (from) =>
    Effect.gen(function*() {
      for (let tried = 0; tried < peers.length; tried++) {
        const peer = peers[nextPeer++ % peers.length]!
        const batches = yield* ask(peer, from)
        if (batches.length > 0 && baseOffsetOf(batches[0]!) <= from) {
          copied += batches.length
          return batches.map((stored) => ({ baseOffset: baseOffsetOf(stored), stored }))
        }
      }
      return []
    })

  /** The batches our log holds from `from` (none if it does not hold `from`: not reached yet, or removed). */
  const serve = (peer: NodeId, requestId: number, from: number, maxBytes: number) =>
    Effect.gen(function*() {
      const log = config.log
      const holds = from >= log.logStartOffset() && from < log.logEndOffset()
      const read = holds ? yield* Effect.result(log.read(from, maxBytes)) : undefined
      // A damaged or closed log answers nothing: the caller asks another peer.
      const batches = read?._tag === "Success" ? read.success.batches : []
      yield* config.network.send(peer, encodeResponse(requestId, batches))
    })

  const onFrame: SegmentCatchUp["onFrame"] = (from, kind, body) => {
    const requestId = body.uint()
    if (kind === CATCH_UP_REQUEST_KIND) {
      const offset = body.uint()
      const maxBytes = body.uint()
      body.done()
      return Effect.asVoid(Effect.forkIn(serve(from, requestId, offset, maxBytes), config.scope))
    }
    assert(kind === CATCH_UP_RESPONSE_KIND, () => `catch-up frame of kind ${kind}`)
    const count = body.u32()
    const batches: Array<Uint8Array> = []
    for (let i = 0; i < count; i++) batches.push(body.raw())
    body.done()
    const answer = waiting.get(requestId)
    if (answer === undefined) return Effect.void // late, or a copy
    waiting.delete(requestId)
    return Effect.asVoid(Deferred.succeed(answer, batches))
  }

  return { batchesFrom, onFrame, copied: () => copied }
}
