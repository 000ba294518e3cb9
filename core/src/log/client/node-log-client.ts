/**
 * The log client inside a node (`cairn server`'s HTTP log API uses it): the
 * same `LogClient` a client process runs, sending its requests from the
 * node's own id over the node's Network, while its answers (frames of
 * `LOG_RESPONSE_KIND`) arrive through the node's frame demultiplexer, which
 * owns the node's Network. A client process needs no such thing: it reads its
 * Network alone.
 *
 * With `local` (the node's log service), its requests to this node are
 * served by a direct call instead of a frame to itself.
 *
 * One per node: registering the answer kind twice is a wiring bug (the
 * demultiplexer's invariant).
 */
import { Effect, Queue, type Scope } from "effect"
import type { Clock } from "../../clock/clock.ts"
import type { Network } from "../../network/network.ts"
import type { Random } from "../../random/random.ts"
import type { FrameDemux } from "../../transport/frame-demux.ts"
import { decodeLogResponse, LOG_RESPONSE_KIND, type LogResponse } from "../service/log-protocol.ts"
import { type LogClient, type LogClientConfig, makeLogClient } from "./log-client.ts"

export const makeNodeLogClient = (
  frames: FrameDemux,
  config: Omit<LogClientConfig, "answers">
): Effect.Effect<LogClient, never, Network | Clock | Random | Scope.Scope> =>
  Effect.gen(function*() {
    const answers = yield* Queue.unbounded<LogResponse>()
    // Decoding throws on a malformed body: the demultiplexer drops and counts it as damaged.
    frames.register("log-client", [LOG_RESPONSE_KIND], (_from, _kind, body) => {
      Queue.offerUnsafe(answers, decodeLogResponse(body))
      return Effect.void
    })
    return yield* makeLogClient({ ...config, answers: Queue.take(answers) })
  })
