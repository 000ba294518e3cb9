/**
 * The KV client library: finds the leader, retries safely, and tells an
 * ambiguous outcome from a failure.
 *
 * Every write carries the client's session (clientId, seq). A retry — after
 * a timeout, or at another node — reuses the same seq, so the state machine
 * applies it at most once (Raft thesis §6.3). Outcomes:
 * - a `KvResult`: the command took effect (or, for a failed cas, certainly
 *   did not change anything) exactly once;
 * - `KvUnavailableError`: the command certainly did not take effect (every
 *   attempt was refused before it reached the log) — Jepsen's `fail`;
 * - `KvAmbiguousError`: some attempt may have reached the log and no answer
 *   came before the deadline — Jepsen's `info`. Never reported as a failure.
 *
 * Reads change nothing, so a read that runs out of time is simply
 * unavailable.
 */
import { Data, Deferred, Effect, type Scope } from "effect"
import { Clock } from "../clock/clock.ts"
import { Network } from "../network/network.ts"
import type { NodeId } from "../node/node-id.ts"
import { Random } from "../random/random.ts"
import type { KvCommand, KvResult } from "./command.ts"
import { encodeClientRequest, parseClientResponse, type ClientRequest, type ClientResponse, type ReadConsistency } from "./protocol.ts"

export class KvAmbiguousError extends Data.TaggedError("KvAmbiguousError")<{ readonly message: string }> {}
export class KvUnavailableError extends Data.TaggedError("KvUnavailableError")<{ readonly message: string }> {}

export interface KvClientConfig {
  /** Unique per client instance; a random suffix is added so restarts start a fresh session. */
  readonly clientId: string
  readonly nodes: ReadonlyArray<NodeId>
  /** How long one attempt waits for an answer. */
  readonly requestTimeoutMs?: number
  /** How long one operation may take in all, retries included. */
  readonly deadlineMs?: number
}

export type ReadCommand = Extract<KvCommand, { readonly op: "get" | "range" }>

export interface KvClient {
  readonly clientId: string
  readonly write: (command: KvCommand) => Effect.Effect<KvResult, KvAmbiguousError | KvUnavailableError>
  readonly read: (command: ReadCommand, consistency?: ReadConsistency) => Effect.Effect<KvResult, KvUnavailableError>
}

export const makeKvClient = (config: KvClientConfig): Effect.Effect<KvClient, never, Network | Clock | Random | Scope.Scope> =>
  Effect.gen(function*() {
    const network = yield* Network
    const clock = yield* Clock
    const random = yield* Random
    const clientId = `${config.clientId}-${(yield* random.nextUint32).toString(36)}`
    const requestTimeoutMs = config.requestTimeoutMs ?? 500
    const deadlineMs = config.deadlineMs ?? 5_000
    const waiting = new Map<number, Deferred.Deferred<ClientResponse>>()
    let nextRequestId = 1
    let seq = 0
    let leaderGuess: NodeId | undefined
    let rotation = (yield* random.nextUint32) % Math.max(1, config.nodes.length)

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function*() {
          const envelope = yield* network.receive
          const response = parseClientResponse(envelope.payload)
          if (response === undefined) return
          const deferred = waiting.get(response.requestId)
          if (deferred === undefined) return // late: the attempt already timed out
          waiting.delete(response.requestId)
          yield* Deferred.succeed(deferred, response)
        })
      )
    )

    const target = (): NodeId => {
      if (leaderGuess !== undefined) return leaderGuess
      rotation = (rotation + 1) % config.nodes.length
      return config.nodes[rotation]!
    }

    /** One attempt: the answer, or undefined after the request timeout. */
    const attempt = (to: NodeId, request: (requestId: number) => ClientRequest) =>
      Effect.gen(function*() {
        const requestId = nextRequestId++
        const deferred = yield* Deferred.make<ClientResponse>()
        waiting.set(requestId, deferred)
        yield* network.send(to, encodeClientRequest(request(requestId)))
        const timeout = Effect.as(clock.sleep(requestTimeoutMs), undefined)
        const response = yield* Effect.raceFirst(Deferred.await(deferred), timeout)
        waiting.delete(requestId)
        return response
      })

    const backoff = Effect.flatMap(random.nextIntBetween(20, 100), (ms) => clock.sleep(ms))

    /** Runs attempts until a result or the deadline; `sent` records whether any attempt may have applied. */
    const run = (request: (requestId: number) => ClientRequest, isWrite: boolean) =>
      Effect.gen(function*() {
        const start = yield* clock.monotonicMs
        let maybeApplied = false
        let lastProblem = "no answer"
        while ((yield* clock.monotonicMs) - start < deadlineMs) {
          const to = target()
          const response = yield* attempt(to, request)
          if (response === undefined) {
            // Lost, slow, or applied without an answer: we cannot tell.
            if (isWrite) maybeApplied = true
            leaderGuess = undefined
            lastProblem = `no answer from ${to} within ${requestTimeoutMs} ms`
            continue
          }
          if (response.kind === "result") {
            leaderGuess = to
            return { result: response.result, maybeApplied }
          }
          if (response.kind === "not-leader") {
            leaderGuess = response.leader !== undefined && config.nodes.includes(response.leader) ? response.leader : undefined
            lastProblem = `${to} is not the leader`
          } else {
            leaderGuess = undefined
            lastProblem = `${to}: ${response.reason}`
          }
          if (leaderGuess === undefined) yield* backoff
        }
        return { result: undefined, maybeApplied, lastProblem }
      })

    const write: KvClient["write"] = (command) =>
      Effect.gen(function*() {
        const session = { clientId, seq: ++seq, command }
        const outcome = yield* run((requestId) => ({ kind: "write", requestId, command: session }), true)
        if (outcome.result !== undefined) return outcome.result
        const message = `${command.op} ${"key" in command ? command.key : ""}: ${outcome.lastProblem}`
        return yield* outcome.maybeApplied ? new KvAmbiguousError({ message }) : new KvUnavailableError({ message })
      })

    const read: KvClient["read"] = (command, consistency = "linearizable") =>
      Effect.gen(function*() {
        const outcome = yield* run((requestId) => ({ kind: "read", requestId, consistency, command }), false)
        if (outcome.result !== undefined) return outcome.result
        return yield* new KvUnavailableError({ message: `${command.op}: ${outcome.lastProblem}` })
      })

    return { clientId, write, read }
  })
