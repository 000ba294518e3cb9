/**
 * What a partition's Raft entry carries: an append of one record batch, with
 * the node and request number that proposed it so that node can answer its
 * client when it applies the entry. No checksum: Raft checksums its entries
 * and messages, and the batch has its own CRC32C.
 *
 * Encoding, version 1: u8 version, u8 op (0: append), string origin,
 * string key, bytes batch.
 */
import { RaftDecodeError } from "../../codec/decode-error.ts"
import { Reader } from "../../codec/reader.ts"
import { Writer } from "../../codec/writer.ts"
import type { NodeId } from "../../node/node-id.ts"

const VERSION = 1
const OP_APPEND = 0

export interface AppendCommand {
  readonly op: "append"
  /** The node whose client waits for this append. */
  readonly origin: NodeId
  /**
   * Names the request this append answers, for its whole life (the client, its session and request
   * id): the origin matches the applied entry to its waiting caller by it, and a copy of the request
   * or of the forwarded proposal (the network may duplicate either) carries the same key, so the
   * machine applies it once.
   */
  readonly key: string
  /** A RecordBatch v2, as the producer sent it (its base offset is assigned when applied). */
  readonly batch: Uint8Array
}

export type PartitionCommand = AppendCommand

export const encodePartitionCommand = (c: PartitionCommand): Uint8Array => {
  const w = new Writer()
  w.u8(VERSION)
  w.u8(OP_APPEND)
  w.string(c.origin)
  w.string(c.key)
  // The batch (up to megabytes) is copied once, straight into the command, not through the
  // growing writer: the same bytes as `w.raw(c.batch)`.
  const head = w.finish()
  const out = new Uint8Array(head.length + 4 + c.batch.length)
  out.set(head)
  new DataView(out.buffer).setUint32(head.length, c.batch.length)
  out.set(c.batch, head.length + 4)
  return out
}

/** Throws `RaftDecodeError` on anything but an encoded command. */
export const decodePartitionCommand = (bytes: Uint8Array): PartitionCommand => {
  const r = new Reader(bytes)
  const version = r.u8()
  if (version !== VERSION) throw new RaftDecodeError({ message: `partition command version ${version}` })
  const op = r.u8()
  if (op !== OP_APPEND) throw new RaftDecodeError({ message: `partition command op ${op}` })
  // A view into the entry: the machine copies the batch once, when it sets its offset (`withBaseOffset`).
  const command: PartitionCommand = { op: "append", origin: r.string() as NodeId, key: r.string(), batch: r.rawView() }
  r.done()
  return command
}
