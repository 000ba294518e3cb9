/**
 * The bytes of a Raft snapshot in the snapshot store: u32 length of the
 * metadata (index, term, configuration), the metadata, then the state
 * machine's image. The store checksums the whole file.
 */
import { decodeSnapshotMeta, encodeSnapshotMeta } from "./codec.ts"
import type { Snapshot } from "./types.ts"

export const encodeSnapshotFile = (snap: Snapshot): Uint8Array => {
  const meta = encodeSnapshotMeta(snap.meta)
  const bytes = new Uint8Array(4 + meta.length + snap.data.length)
  new DataView(bytes.buffer).setUint32(0, meta.length)
  bytes.set(meta, 4)
  bytes.set(snap.data, 4 + meta.length)
  return bytes
}

export const decodeSnapshotFile = (bytes: Uint8Array): Snapshot => {
  const metaLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
  const meta = decodeSnapshotMeta(bytes.subarray(4, 4 + metaLength))
  return { meta, data: bytes.slice(4 + metaLength) }
}
