/**
 * The node's frame demultiplexer: every service on a node (Raft, the KV
 * client protocol, shard transfer, the next ones) shares one `Network`, and
 * each frame on it names its owner by its kind (`codec/frame.ts`). A service
 * registers the kinds it owns, once, while the node is wired; the
 * demultiplexer reads the network once and hands each checked frame to its
 * owner. Nothing climbs back up through another service.
 *
 * Rules:
 * - A kind has one owner: registering it twice is a wiring bug, an
 *   `InvariantViolation` when the node is built, never a frame lost later.
 * - A damaged frame (bad checksum, or a body its owner cannot decode) and a
 *   frame of a kind nobody owns are dropped and counted, as the network may
 *   drop anything anyway: bad input never stops a node. An invariant
 *   violation raised by a handler is a bug and stops the node.
 * - Handlers run on the receiving fiber, in arrival order: they must not
 *   block (fork long work) so that the next frame is read at once.
 *
 * Its loop (`run`) runs where Raft's receiver always ran: the Raft driver
 * races it with its own loops, so a node's frames stop when its Raft does and
 * the simulator schedules every frame exactly as before this module existed.
 * The loop runs the same Effect operations per frame as that receiver did
 * (the simulator's scheduler counts them): a handler with nothing to do
 * returns `Effect.void`, which the loop skips rather than runs.
 */
import { Effect } from "effect"
import { unframe } from "../codec/frame.ts"
import type { Reader } from "../codec/reader.ts"
import { assert, InvariantViolation } from "../invariant/invariant.ts"
import type { NetworkShape } from "../network/network.ts"
import type { NodeId } from "../node/node-id.ts"

/**
 * Takes one checked frame of a kind its service registered. It may throw a
 * decode error (the frame is dropped as damaged); the returned effect runs on
 * the receiving fiber and must not block.
 */
export type FrameHandler = (from: NodeId, kind: number, body: Reader) => Effect.Effect<void>

/** Frames the demultiplexer dropped, by why. */
export interface DroppedFrames {
  /** Failed the frame check, or its owner could not decode it. */
  readonly damaged: number
  /** Well formed, but of a kind no service on this node registered. */
  readonly unowned: number
}

export interface FrameDemux {
  /** Makes `service` the owner of `kinds` (each 0 to 255, not yet owned). */
  readonly register: (service: string, kinds: ReadonlyArray<number>, handler: FrameHandler) => void
  /** The service that owns `kind`, if any. */
  readonly owner: (kind: number) => string | undefined
  readonly dropped: () => DroppedFrames
  /** Reads the network and dispatches, forever. Run once per node (the Raft driver runs it). */
  readonly run: Effect.Effect<never>
}

/** The kinds one frame header can name (its kind is a u8). */
const KINDS = 256

interface Owner {
  readonly service: string
  readonly handler: FrameHandler
}

/** A demultiplexer over `network`, with no kinds registered yet. Plain, not an effect: building it runs nothing. */
export const makeFrameDemux = (network: NetworkShape): FrameDemux => {
  const owners: Array<Owner | undefined> = new Array<Owner | undefined>(KINDS).fill(undefined)
  let damaged = 0
  let unowned = 0

  const register: FrameDemux["register"] = (service, kinds, handler) => {
    for (const kind of kinds) {
      assert(Number.isInteger(kind) && kind >= 0 && kind < KINDS, () => `${service}: frame kind ${kind} is not a u8`)
      const taken = owners[kind]
      assert(taken === undefined, () => `${service}: frame kind ${kind} is already registered by ${taken?.service}`)
      owners[kind] = { service, handler }
    }
  }

  /** The checked frame's owner's effect, or undefined if the frame was dropped. */
  const dispatch = (from: NodeId, payload: Uint8Array): Effect.Effect<void> | undefined => {
    try {
      const { kind, body } = unframe(payload)
      const owner = owners[kind]
      if (owner === undefined) {
        unowned++
        return undefined
      }
      return owner.handler(from, kind, body)
    } catch (error) {
      // A broken invariant is a bug, never a damaged frame: protocol code never catches it.
      if (error instanceof InvariantViolation) throw error
      damaged++
      return undefined
    }
  }

  const run: Effect.Effect<never> = Effect.forever(
    Effect.gen(function*() {
      const envelope = yield* network.receive
      const handled = dispatch(envelope.from, envelope.payload)
      if (handled !== undefined && handled !== Effect.void) yield* handled
    })
  )

  return {
    register,
    owner: (kind) => owners[kind]?.service,
    dropped: () => ({ damaged, unowned }),
    run
  }
}
