/**
 * Node identity. A node id is a short, stable, printable name ("n1", "db-3")
 * that never changes for the life of a node's data directory.
 */
import { Schema } from "effect"

/** Printable node id: letters, digits, `-` and `_`, 1 to 64 characters. */
export const NodeId = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/)),
  Schema.brand("NodeId")
)
export type NodeId = typeof NodeId.Type

/** Makes a node id from a trusted string, asserting the shape. */
export const nodeId = (raw: string): NodeId => Schema.decodeUnknownSync(NodeId)(raw)
