/**
 * A fault-free in-memory network: every send is delivered once, in order,
 * at once.
 */
import type { Envelope, NetworkShape, NodeId } from "@cairn/core"
import { Effect, Queue } from "effect"

export interface InMemoryNetwork {
  /** The Network service of one node. */
  readonly node: (id: NodeId) => NetworkShape
}

export const inMemoryNetwork = (ids: ReadonlyArray<NodeId>): Effect.Effect<InMemoryNetwork> =>
  Effect.gen(function*() {
    const inboxes = new Map<NodeId, Queue.Queue<Envelope>>()
    for (const id of ids) inboxes.set(id, yield* Queue.unbounded<Envelope>())
    const node = (self: NodeId): NetworkShape => {
      const inbox = inboxes.get(self)
      if (inbox === undefined) throw new Error(`unknown node ${self}`)
      return {
        self,
        send: (to, payload) =>
          Effect.sync(() => {
            const target = inboxes.get(to)
            if (target !== undefined) Queue.offerUnsafe(target, { from: self, to, payload: payload.slice() })
          }),
        receive: Queue.take(inbox)
      }
    }
    return { node }
  })
