/**
 * A member's assignment as the Kafka consumer protocol writes it (the bytes
 * the group leader hands out in SyncGroup and the coordinator stores
 * opaquely): ConsumerProtocolAssignment v0..v3, int16 version, int32 count
 * of topics, each an int16-length string and an int32 count of int32
 * partitions, then user data (ignored). Read only to show who reads what;
 * the coordinator itself never looks inside.
 */

export interface AssignedTopic {
  readonly topic: string
  readonly partitions: ReadonlyArray<number>
}

const decoder = new TextDecoder("utf-8", { fatal: true })

/** The topics and partitions in `bytes`, or undefined when they are not a consumer-protocol assignment. */
export const decodeConsumerAssignment = (bytes: Uint8Array): ReadonlyArray<AssignedTopic> | undefined => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 0
  const need = (n: number): boolean => at + n <= bytes.length
  if (!need(6)) return undefined
  const version = view.getInt16(at)
  const topics = view.getInt32(at + 2)
  at += 6
  if (version < 0 || version > 3 || topics < 0) return undefined
  const out: Array<AssignedTopic> = []
  for (let t = 0; t < topics; t++) {
    if (!need(2)) return undefined
    const length = view.getInt16(at)
    at += 2
    if (length < 0 || !need(length + 4)) return undefined
    let topic: string
    try {
      topic = decoder.decode(bytes.subarray(at, at + length))
    } catch {
      return undefined
    }
    at += length
    const count = view.getInt32(at)
    at += 4
    if (count < 0 || !need(count * 4)) return undefined
    const partitions: Array<number> = []
    for (let p = 0; p < count; p++, at += 4) partitions.push(view.getInt32(at))
    out.push({ topic, partitions })
  }
  return out
}
