/**
 * The simulator's own test protocol ("durable ping"), which gives every fault
 * something to hit until the real replicated store is the default workload.
 *
 * Each node keeps an append-only log of variable-length records (some span
 * several sectors, so crashes tear them) and acknowledges a record only after
 * the file and its directory are synced. It pings random peers and answers
 * pings with pongs. On every start it recovers its log: it stops at the first
 * record that is incomplete or fails its checksum, truncates there, and goes
 * on.
 *
 * The oracle checks, from outside the nodes:
 * - durability: a recovered log holds every acknowledged record, unless a
 *   corrupting disk fault was enabled (then the loss must have been detected
 *   by a checksum, which is counted);
 * - integrity: no record is accepted with bytes other than those written;
 * - liveness: after the heal, every node acknowledges new records and hears
 *   from a peer within the bound.
 */
import { assert, Clock, Disk, Network, Random, type DiskFile, type NodeId } from "@cairn/core"
import { crc32c, crc32cUpdate } from "@cairn/core/checksum/crc32c"
import { Effect } from "effect"
import type { NodeProgram } from "../cluster.ts"

const logDir = "ping"
const logPath = `${logDir}/log`
const magic = 0xca1a5eed
const headerBytes = 16

/** CRC32C over a record's sequence number and payload. */
const checksum = (seq: number, payload: Uint8Array): number => {
  const seqBytes = new Uint8Array(4)
  new DataView(seqBytes.buffer).setUint32(0, seq)
  return crc32cUpdate(crc32c(seqBytes), payload)
}

/** The payload length of record `seq`: 50 B to 9 KB, so that records often span sectors. */
const payloadLength = (seq: number): number => 50 + (Math.imul(seq, 2654435761) >>> 0) % 9000

/** The payload of record `seq`: its length and bytes follow from `seq` alone, so a reader can verify it. */
export const payloadOf = (node: string, seq: number): Uint8Array => {
  const length = payloadLength(seq)
  const words = new Uint32Array((length + 3) >>> 2)
  let x = (seq * 31 + node.charCodeAt(node.length - 1)) >>> 0
  for (let i = 0; i < words.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    words[i] = x ^ (x >>> 13)
  }
  return new Uint8Array(words.buffer, 0, length)
}

const encodeRecord = (node: string, seq: number): Uint8Array => {
  const payload = payloadOf(node, seq)
  const record = new Uint8Array(headerBytes + payload.length)
  const view = new DataView(record.buffer)
  view.setUint32(0, magic)
  view.setUint32(4, seq)
  view.setUint32(8, payload.length)
  view.setUint32(12, checksum(seq, payload))
  record.set(payload, headerBytes)
  return record
}

/** What the simulator-side oracle learns from the nodes. */
export interface PingOracle {
  /** Record `seq` (and all before it) is durable on `node`. */
  readonly acknowledged: (node: NodeId, seq: number) => void
  /** `node` recovered `seq` records; `damage` says why it stopped early, if it did. */
  readonly recovered: (node: NodeId, seq: number, damage: "none" | "torn" | "checksum" | "read-error") => void
  /** `node` heard a pong from `peer`. */
  readonly pong: (node: NodeId, peer: NodeId) => void
  /** `node` re-read acknowledged record `seq`: intact, or damage caught by its checksum or a read error. */
  readonly scrubbed: (node: NodeId, seq: number, outcome: "intact" | "checksum" | "read-error") => void
}

const encodePing = (kind: 0 | 1, seq: number): Uint8Array => {
  const bytes = new Uint8Array(5)
  bytes[0] = kind
  new DataView(bytes.buffer).setUint32(1, seq)
  return bytes
}

interface Recovery {
  readonly seq: number
  readonly end: number
  readonly damage: "none" | "torn" | "checksum" | "read-error"
}

const readExact = (file: DiskFile, offset: number, length: number) =>
  Effect.gen(function*() {
    // A transient EIO deserves a retry; a latent sector error fails every time.
    for (let attempt = 0; ; attempt++) {
      const result = yield* Effect.result(file.read(offset, length))
      if (result._tag === "Success") return result.success
      if (attempt === 3) return undefined
    }
  })

const recover = (node: string, file: DiskFile) =>
  Effect.gen(function*() {
    const size = yield* Effect.orElseSucceed(file.size, () => 0)
    let offset = 0
    let seq = 0
    for (;;) {
      if (offset + headerBytes > size) return { seq, end: offset, damage: offset === size ? "none" : "torn" } satisfies Recovery
      const header = yield* readExact(file, offset, headerBytes)
      if (header === undefined) return { seq, end: offset, damage: "read-error" } satisfies Recovery
      const view = new DataView(header.buffer, header.byteOffset, header.byteLength)
      const length = view.getUint32(8)
      if (view.getUint32(0) !== magic || view.getUint32(4) !== seq + 1 || length > 10_000) {
        return { seq, end: offset, damage: isZero(header) ? "torn" : "checksum" } satisfies Recovery
      }
      if (offset + headerBytes + length > size) return { seq, end: offset, damage: "torn" } satisfies Recovery
      const payload = yield* readExact(file, offset + headerBytes, length)
      if (payload === undefined) return { seq, end: offset, damage: "read-error" } satisfies Recovery
      if (checksum(seq + 1, payload) !== view.getUint32(12)) return { seq, end: offset, damage: "checksum" } satisfies Recovery
      // Integrity: a record that passes its checksum must be exactly what was written.
      const expected = payloadOf(node, seq + 1)
      for (let i = 0; i < length; i++) {
        if (payload[i] !== expected[i]) return yield* Effect.die(new Error(`record ${seq + 1} passed its checksum with the wrong bytes`))
      }
      seq++
      offset += headerBytes + length
    }
  })

const isZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0)

/** The durable-ping node program, reporting to `oracle`. */
export const durablePing = (oracle: PingOracle, peers: ReadonlyArray<NodeId>): NodeProgram => ({ id }) =>
  Effect.gen(function*() {
    const disk = yield* Disk
    const clock = yield* Clock
    const random = yield* Random
    const network = yield* Network

    // Open (creating on first boot) and make the name durable before trusting it.
    let file: DiskFile | undefined
    while (file === undefined) {
      const opened = yield* Effect.result(disk.open(logPath, "create"))
      if (opened._tag === "Success" && (yield* Effect.result(disk.syncDirectory(logDir)))._tag === "Success") file = opened.success
      else yield* clock.sleep(10)
    }
    const log = file
    const recovery = yield* recover(id, log)
    oracle.recovered(id, recovery.seq, recovery.damage)
    let seq = recovery.seq
    let end = recovery.end
    // Cut the damaged or torn tail so new records never follow garbage.
    while ((yield* Effect.result(Effect.andThen(log.truncate(end), log.sync)))._tag === "Failure") yield* clock.sleep(10)

    const responder = Effect.forever(
      Effect.gen(function*() {
        const message = yield* network.receive
        if (message.payload.length !== 5) return
        const kind = message.payload[0]
        const their = new DataView(message.payload.buffer, message.payload.byteOffset).getUint32(1)
        if (kind === 0) yield* network.send(message.from, encodePing(1, their))
        else oracle.pong(id, message.from)
      })
    )

    // Offsets of acknowledged records, for the scrubber (index i holds record i + 1).
    const offsets: Array<number> = []
    {
      let offset = 0
      for (let n = 1; n <= seq; n++) {
        offsets.push(offset)
        offset += headerBytes + payloadLength(n)
      }
    }

    // Writes a batch of 1–4 records with separate writes and one sync, so a crash
    // can land between them (lost and torn unsynced writes) and records span sectors.
    const writer = Effect.forever(
      Effect.gen(function*() {
        yield* clock.sleep(yield* random.nextIntBetween(5, 50))
        const batch = yield* random.nextIntBetween(1, 4)
        let position = end
        for (let i = 1; i <= batch; i++) {
          const record = encodeRecord(id, seq + i)
          const written = yield* Effect.result(log.write(position, record))
          if (written._tag === "Failure") {
            // Nothing past `end` is acknowledged; drop the partial batch.
            yield* Effect.ignore(log.truncate(end))
            return
          }
          position += record.length
        }
        // Wait for more work to share the sync with, as group commit does.
        yield* clock.sleep(yield* random.nextIntBetween(0, 10))
        const synced = yield* Effect.result(log.sync)
        if (synced._tag === "Failure") {
          // fsync failed: everything since the last good sync is gone. Never retry as if it landed.
          yield* Effect.ignore(log.truncate(end))
          return
        }
        for (let i = 1; i <= batch; i++) {
          offsets.push(end)
          end += headerBytes + payloadLength(seq + 1)
          seq++
        }
        assert(end === position, "batch end must match the bytes written")
        oracle.acknowledged(id, seq)
        const others = peers.filter((p) => p !== id)
        if (others.length > 0) {
          const peer = others[yield* random.nextIntBetween(0, others.length - 1)]!
          yield* network.send(peer, encodePing(0, seq))
        }
      })
    )

    // Re-reads a random acknowledged record now and then, so read faults and rot have something to hit.
    const scrubber = Effect.forever(
      Effect.gen(function*() {
        yield* clock.sleep(yield* random.nextIntBetween(20, 200))
        if (seq === 0) return
        const n = yield* random.nextIntBetween(1, seq)
        const length = payloadLength(n)
        const bytes = yield* Effect.result(log.read(offsets[n - 1]!, headerBytes + length))
        if (bytes._tag === "Failure") return oracle.scrubbed(id, n, "read-error")
        const record = bytes.success
        const view = new DataView(record.buffer, record.byteOffset, record.byteLength)
        const payload = record.subarray(headerBytes)
        const intact = record.length === headerBytes + length && view.getUint32(0) === magic && view.getUint32(4) === n &&
          checksum(n, payload) === view.getUint32(12)
        if (!intact) return oracle.scrubbed(id, n, "checksum")
        const expected = payloadOf(id, n)
        for (let i = 0; i < length; i++) {
          if (payload[i] !== expected[i]) return yield* Effect.die(new Error(`record ${n} passed its checksum with the wrong bytes`))
        }
        oracle.scrubbed(id, n, "intact")
      })
    )

    yield* Effect.all([responder, writer, scrubber], { concurrency: "unbounded", discard: true })
  })
