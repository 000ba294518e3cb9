/**
 * Many Raft groups on one node's transport: every partition replica runs its
 * own Raft driver (`raft/node.ts`, unchanged), each over a Network of its
 * own that this module makes. A group's outgoing frame (a Raft message,
 * already in its checksummed frame) travels inside a frame of kind
 * `LOG_RAFT_KIND` that names the group; on arrival the node's demultiplexer
 * hands it here and it goes to that group's inbox, where the group's own
 * demultiplexer unframes it for its Raft driver.
 *
 * Frame body: string group id, bytes inner frame. A frame for a group this
 * node does not run (not created yet, or deleted) is dropped and counted:
 * Raft retries, as for any lost message.
 *
 * What is still per group (no coalescing yet): ticks, heartbeats and their
 * answers travel once per group and node pair, and each group has its own WAL
 * and fsync stream.
 */
import { Effect, Queue } from "effect"
import { frame } from "../../codec/frame.ts"
import type { Envelope, NetworkShape } from "../../network/network.ts"
import type { NodeId } from "../../node/node-id.ts"
import type { FrameDemux } from "../../transport/frame-demux.ts"

/** The log service's Raft frames (the client protocol's kinds follow: `log-protocol.ts`). */
export const LOG_RAFT_KIND = 68

export interface GroupTransport {
  /** A Network for `group` on this node: sends wrap, receives are the group's frames. Unregister with `close`. */
  readonly open: (group: string) => Effect.Effect<GroupNetwork>
  /** Frames dropped because no group of that id runs here. */
  readonly orphans: () => number
}

export interface GroupNetwork {
  readonly network: NetworkShape
  /** Stops delivering to this group (its frames become orphans). */
  readonly close: Effect.Effect<void>
}

const encodeGroupFrame = (group: string, inner: Uint8Array): Uint8Array => {
  const groupBytes = new TextEncoder().encode(group)
  const body = new Uint8Array(4 + groupBytes.length + 4 + inner.length)
  const view = new DataView(body.buffer)
  view.setUint32(0, groupBytes.length)
  body.set(groupBytes, 4)
  view.setUint32(4 + groupBytes.length, inner.length)
  body.set(inner, 8 + groupBytes.length)
  return frame(LOG_RAFT_KIND, body)
}

/** Registers `LOG_RAFT_KIND` on the node's demultiplexer. */
export const makeGroupTransport = (network: NetworkShape, frames: FrameDemux): GroupTransport => {
  const inboxes = new Map<string, Queue.Queue<Envelope>>()
  let orphans = 0
  frames.register("log-raft", [LOG_RAFT_KIND], (from, _kind, body) => {
    const group = body.string()
    const inner = body.raw()
    body.done()
    const inbox = inboxes.get(group)
    if (inbox === undefined) {
      orphans++
      return Effect.void
    }
    return Effect.asVoid(Queue.offer(inbox, { from, to: network.self, payload: inner }))
  })

  const open = (group: string): Effect.Effect<GroupNetwork> =>
    Effect.gen(function*() {
      const inbox = yield* Queue.unbounded<Envelope>()
      inboxes.set(group, inbox)
      const groupNetwork: NetworkShape = {
        self: network.self,
        send: (to: NodeId, payload: Uint8Array) => network.send(to, encodeGroupFrame(group, payload)),
        receive: Queue.take(inbox)
      }
      const close = Effect.sync(() => {
        if (inboxes.get(group) === inbox) inboxes.delete(group)
      })
      return { network: groupNetwork, close }
    })

  return { open, orphans: () => orphans }
}
