/**
 * The Network service: node-to-node messages, as the architecture brief
 * defines them. Messages may be delayed, dropped, duplicated, reordered or cut
 * by partitions (symmetric or not). Never assume delivery, order or a single
 * copy: protocols carry their own terms, sequence numbers and checksums.
 *
 * Payloads are bytes: what goes on the wire in production goes through the
 * simulator too, encoders and all.
 */
import { Context, type Effect } from "effect"
import type { NodeId } from "../node/node-id.ts"

/** One delivered message. */
export interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  readonly payload: Uint8Array
}

export interface NetworkShape {
  /** This node's id. */
  readonly self: NodeId
  /** Best-effort send. Never fails and never blocks on the peer. */
  readonly send: (to: NodeId, payload: Uint8Array) => Effect.Effect<void>
  /** Waits for the next message addressed to this node. */
  readonly receive: Effect.Effect<Envelope>
}

export class Network extends Context.Service<Network, NetworkShape>()("cairn/Network") {}
