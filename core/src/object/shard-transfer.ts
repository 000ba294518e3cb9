/**
 * Moving shards between nodes: a request/response protocol over the Network
 * service (frame kinds 66 and 67, in the same checksummed frames as Raft's
 * messages), served from each node's `ShardStore`.
 *
 * Requests: put (store durably, answered after the fsync), get (read and
 * verify), remove. Answers: ok (with the bytes for a get), not-found,
 * corrupt (the store's checksum failed: the caller treats it as missing and
 * reconstructs), error (a disk problem). A request with no answer within the
 * timeout is a failure; like any network message it may still have taken
 * effect, which is harmless here: puts of one shard id always carry the same
 * bytes, and a shard without committed metadata is garbage.
 *
 * Requests to this node itself go straight to the local store.
 */
import { Data, Deferred, Effect, Scope } from "effect"
import { Clock } from "../clock/clock.ts"
import { Network } from "../network/network.ts"
import type { NodeId } from "../node/node-id.ts"
import { frame } from "../codec/frame.ts"
import { Reader } from "../codec/reader.ts"
import { Writer } from "../codec/writer.ts"
import type { ShardStore } from "../shard-store/shard-store.ts"

export const SHARD_REQUEST_KIND = 66
export const SHARD_RESPONSE_KIND = 67

type ShardOp = "put" | "get" | "remove"
const ops: ReadonlyArray<ShardOp> = ["put", "get", "remove"]
type Outcome = "ok" | "not-found" | "corrupt" | "error"
const outcomes: ReadonlyArray<Outcome> = ["ok", "not-found", "corrupt", "error"]

/** A shard could not be stored, read or removed on `node`. */
export class ShardTransferError extends Data.TaggedError("ShardTransferError")<{
  readonly node: NodeId
  readonly id: string
  /** not-found and corrupt: the shard is not there intact; error, timeout: we cannot tell. */
  readonly reason: "not-found" | "corrupt" | "error" | "timeout"
  readonly message: string
}> {}

export interface ShardTransfer {
  readonly put: (node: NodeId, id: string, data: Uint8Array) => Effect.Effect<void, ShardTransferError>
  /**
   * `evenIfSuspected`: ask a node even while it is suspected of being down
   * (a reader that cannot go on without it tries it rather than give up).
   */
  readonly get: (node: NodeId, id: string, options?: { readonly evenIfSuspected?: boolean }) => Effect.Effect<Uint8Array, ShardTransferError>
  readonly remove: (node: NodeId, id: string) => Effect.Effect<void, ShardTransferError>
  /** Serves a request or takes an answer; hand it every frame of kinds 66 and 67. */
  readonly onFrame: (from: NodeId, kind: number, body: Reader) => Effect.Effect<void>
}

/** The id a liveness probe asks for: every shard id has a dot (`<body>.r`, `<body>.<stripe>.<shard>`), so no shard has this one. */
const PROBE_SHARD_ID = "probe"

export interface ShardTransferConfig {
  readonly self: NodeId
  readonly store: ShardStore
  /** How long one request waits for its answer. */
  readonly timeoutMs?: number
  /** How long a node that let a request time out is skipped (default: the timeout). */
  readonly suspectMs?: number
}

const encodeRequest = (requestId: number, op: ShardOp, id: string, data: Uint8Array | undefined): Uint8Array => {
  const w = new Writer()
  w.uint(requestId)
  w.u8(ops.indexOf(op))
  w.string(id)
  if (op === "put") w.raw(data!)
  return frame(SHARD_REQUEST_KIND, w.finish())
}

const encodeResponse = (requestId: number, outcome: Outcome, detail: Uint8Array | string): Uint8Array => {
  const w = new Writer()
  w.uint(requestId)
  w.u8(outcomes.indexOf(outcome))
  if (typeof detail === "string") w.string(detail)
  else w.raw(detail)
  return frame(SHARD_RESPONSE_KIND, w.finish())
}

interface Answer {
  readonly outcome: Outcome
  readonly data: Uint8Array | undefined
  readonly message: string
}

export const makeShardTransfer = (config: ShardTransferConfig): Effect.Effect<ShardTransfer, never, Network | Clock | Scope.Scope> =>
  Effect.gen(function*() {
    const network = yield* Network
    const clock = yield* Clock
    const scope = yield* Scope.Scope
    const store = config.store
    const timeoutMs = config.timeoutMs ?? 5_000
    const waiting = new Map<number, { readonly op: ShardOp; readonly deferred: Deferred.Deferred<Answer> }>()
    let nextRequestId = 1

    /** Runs an operation on the local store, as an answer. */
    const local = (op: ShardOp, id: string, data: Uint8Array | undefined): Effect.Effect<Answer> => {
      const run: Effect.Effect<Uint8Array | undefined, { readonly _tag: string; readonly message?: string }> =
        op === "put" ? Effect.as(store.put(id, data!), undefined) : op === "get" ? store.get(id) : Effect.as(store.remove(id), undefined)
      return Effect.match(run, {
        onSuccess: (bytes): Answer => ({ outcome: "ok", data: bytes, message: "" }),
        onFailure: (e): Answer => ({
          outcome: e._tag === "ShardNotFoundError" ? "not-found" : e._tag === "ShardCorruptError" ? "corrupt" : "error",
          data: undefined,
          message: `${e._tag}${e.message === undefined ? "" : `: ${e.message}`}`
        })
      })
    }

    /**
     * Nodes that let a request time out are suspected: requests to them fail
     * at once (a degraded read goes to parity, a degraded write records the
     * shard missing) instead of waiting out a timeout per stripe. While a
     * node is suspected a background probe asks it every `suspectMs`,
     * doubling after each probe that times out (up to 4 × `suspectMs`); the
     * probe's answer, or any frame from the node, lifts the suspicion. So a
     * node that stays down costs one timed-out client request, not one per
     * interval, and one that returns is used again within one probe
     * interval. A reader that cannot go on without a suspected node asks it
     * anyway (`evenIfSuspected`).
     */
    const suspectUntil = new Map<NodeId, number>()
    const strikes = new Map<NodeId, number>()
    const probing = new Set<NodeId>()
    const suspectMs = config.suspectMs ?? timeoutMs
    const MAX_SUSPECT_DOUBLINGS = 2
    const SUSPECTED: Answer = { outcome: "error", data: undefined, message: "timeout (the node did not answer recently)" }

    const clearSuspicion = (node: NodeId) => {
      suspectUntil.delete(node)
      strikes.delete(node)
    }

    /** One request and its answer, or "timeout" after `timeoutMs`; a timeout makes the node suspected. */
    const roundTrip = (node: NodeId, op: ShardOp, id: string, data?: Uint8Array): Effect.Effect<Answer> =>
      Effect.gen(function*() {
        const requestId = nextRequestId++
        const deferred = yield* Deferred.make<Answer>()
        waiting.set(requestId, { op, deferred })
        yield* network.send(node, encodeRequest(requestId, op, id, data))
        const timeout = Effect.as(clock.sleep(timeoutMs), { outcome: "error", data: undefined, message: "timeout" } as const)
        const answer = yield* Effect.raceFirst(Deferred.await(deferred), timeout)
        waiting.delete(requestId)
        if (answer.message === "timeout") {
          const strike = Math.min((strikes.get(node) ?? -1) + 1, MAX_SUSPECT_DOUBLINGS)
          strikes.set(node, strike)
          suspectUntil.set(node, (yield* clock.monotonicMs) + suspectMs * 2 ** strike)
          if (!probing.has(node)) {
            probing.add(node)
            yield* Effect.forkIn(Effect.ensuring(probeWhileSuspected(node), Effect.sync(() => probing.delete(node))), scope)
          }
        } else clearSuspicion(node)
        return answer
      })

    /** Asks a suspected node, each time its suspicion lapses, for a shard that cannot exist: any answer shows it is back. */
    const probeWhileSuspected = (node: NodeId): Effect.Effect<void> =>
      Effect.gen(function*() {
        for (;;) {
          const until = suspectUntil.get(node)
          if (until === undefined) return
          const now = yield* clock.monotonicMs
          if (until > now) yield* clock.sleep(until - now)
          if (!suspectUntil.has(node)) return
          yield* roundTrip(node, "get", PROBE_SHARD_ID)
        }
      })

    const request = (node: NodeId, op: ShardOp, id: string, data?: Uint8Array, evenIfSuspected = false): Effect.Effect<Answer> =>
      node === config.self
        ? local(op, id, data)
        : suspectUntil.has(node) && !evenIfSuspected
        ? Effect.succeed(SUSPECTED)
        : roundTrip(node, op, id, data)

    const check = (node: NodeId, id: string, answer: Answer): Effect.Effect<Answer, ShardTransferError> =>
      answer.outcome === "ok"
        ? Effect.succeed(answer)
        : Effect.fail(
          new ShardTransferError({
            node,
            id,
            reason: answer.outcome === "error" && answer.message.startsWith("timeout") ? "timeout" : answer.outcome,
            message: `${node} ${id}: ${answer.message || answer.outcome}`
          })
        )

    const onFrame: ShardTransfer["onFrame"] = (from, kind, body) =>
      Effect.suspend(() => {
        let requestId: number
        // Any frame from a node shows it is up: it is no longer skipped.
        clearSuspicion(from)
        try {
          requestId = body.uint()
          if (kind === SHARD_RESPONSE_KIND) {
            const outcome = outcomes[body.u8()]
            const pending = waiting.get(requestId)
            if (outcome === undefined || pending === undefined) return Effect.void // late or damaged: the request times out
            const answer: Answer = outcome === "ok"
              ? { outcome, data: pending.op === "get" ? body.raw() : undefined, message: "" }
              : { outcome, data: undefined, message: body.string() }
            waiting.delete(requestId)
            return Deferred.succeed(pending.deferred, answer)
          }
          if (kind !== SHARD_REQUEST_KIND) return Effect.void
          const op = ops[body.u8()]
          if (op === undefined) return Effect.void
          const id = body.string()
          const data = op === "put" ? body.raw() : undefined
          // Served in its own fiber: the node's receiver must go on reading while the disk works.
          return Effect.asVoid(Effect.forkIn(
            Effect.flatMap(local(op, id, data), (answer) =>
              network.send(from, encodeResponse(requestId, answer.outcome, answer.outcome === "ok" ? answer.data ?? new Uint8Array(0) : answer.message))),
            scope
          ))
        } catch {
          return Effect.void // a malformed frame: dropped, as the network may do anyway
        }
      })

    return {
      put: (node, id, data) => Effect.asVoid(Effect.flatMap(request(node, "put", id, data), (a) => check(node, id, a))),
      get: (node, id, options) =>
        Effect.map(Effect.flatMap(request(node, "get", id, undefined, options?.evenIfSuspected === true), (a) => check(node, id, a)), (a) => a.data ?? new Uint8Array(0)),
      remove: (node, id) => Effect.asVoid(Effect.flatMap(request(node, "remove", id), (a) => check(node, id, a))),
      onFrame
    }
  })
