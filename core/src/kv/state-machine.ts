/**
 * The replicated key-value state machine: Raft hands it committed command
 * entries in log order, and every replica that applies the same entries ends
 * in the same state with the same results. Pure and synchronous: no time, no
 * randomness, no I/O.
 *
 * A key's modification revision is the Raft index of the command that last
 * wrote it, so revisions are unique, increase with every change and can act
 * as ETags for compare-and-set.
 *
 * Snapshot, version 1 (big-endian): u32 magic "CKVS", u8 version, body,
 * u32 CRC32C of everything before it. Body: uint applied index, uint key
 * count, then per key in key order: string key, bytes value, uint revision;
 * then the session table (`sessions.ts`).
 */
import { Data } from "effect"
import { crc32c } from "../checksum/crc32c.ts"
import { assert } from "../invariant/invariant.ts"
import { RaftDecodeError } from "../codec/decode-error.ts"
import { Reader } from "../codec/reader.ts"
import { Writer } from "../codec/writer.ts"
import {
  decodeSessionCommand,
  errorResult,
  MAX_RANGE_LIMIT,
  RANGE_BYTE_BUDGET,
  validateClientId,
  validateCommand,
  type ErrorResult,
  type GetResult,
  type KvCommand,
  type KvResult,
  type RangeItem,
  type RangeResult,
  type SessionCommand
} from "./command.ts"
import { compareKeys, MAX_KEY_BYTES, MAX_VALUE_BYTES, utf8Length } from "./keys.ts"
import { OrderedMap } from "./ordered-map.ts"
import { DEFAULT_SESSION_CAPACITY, SessionTable } from "./sessions.ts"

/** A snapshot that failed its checksum or its consistency checks. */
export class KvSnapshotError extends Data.TaggedError("KvSnapshotError")<{ readonly message: string }> {}

export interface KvStateMachineOptions {
  /** Client sessions kept (least recently used evicted first); must be the same on every replica. */
  readonly sessionCapacity?: number
}

interface Stored {
  readonly value: Uint8Array
  readonly revision: number
}

const isRead = (command: KvCommand): boolean => command.op === "get" || command.op === "range"

const MAGIC = 0x434b5653 // "CKVS"
const VERSION = 1

export class KvStateMachine {
  // Not readonly only so that `restore` can install what it read.
  private data = new OrderedMap<string, Stored>(compareKeys)
  private sessions: SessionTable
  private applied = 0

  constructor(options: KvStateMachineOptions = {}) {
    this.sessions = new SessionTable(options.sessionCapacity ?? DEFAULT_SESSION_CAPACITY)
  }

  /** The Raft index of the last entry applied (or skipped with `advanceTo`). */
  get appliedIndex(): number {
    return this.applied
  }

  /** The number of keys. */
  get size(): number {
    return this.data.size
  }

  /** The number of client sessions held. */
  get sessionCount(): number {
    return this.sessions.size
  }

  /** The last applied seq of a client, if its session is held. */
  lastSeq(clientId: string): number | undefined {
    return this.sessions.lastSeq(clientId)
  }

  /**
   * Applies the command entry at Raft index `index` (strictly greater than
   * `appliedIndex`). Malformed bytes give a `bad-command` result and change
   * nothing but `appliedIndex`.
   */
  apply(index: number, data: Uint8Array): KvResult {
    this.advanceTo(index)
    let session: SessionCommand
    try {
      session = decodeSessionCommand(data)
    } catch (error) {
      if (error instanceof RaftDecodeError) return errorResult("bad-command", `undecodable command: ${error.message}`)
      throw error
    }
    const { clientId, seq, command } = session
    const badClient = validateClientId(clientId)
    if (badClient !== undefined) return badClient
    const check = this.sessions.check(clientId, seq)
    switch (check.kind) {
      case "stale":
        return errorResult("stale-sequence", `seq ${seq} of client ${clientId} is below its last applied seq ${check.last}`)
      case "duplicate":
        this.sessions.touch(clientId, index)
        if (check.result !== undefined) return check.result
        // A read's result is not cached: run it again, as long as it is a read (a client that
        // reused the seq for a write must not get that write applied by a "duplicate").
        if (!isRead(command)) return errorResult("bad-command", `seq ${seq} of client ${clientId} was a read`)
        return validateCommand(command) ?? this.execute(index, command)
      case "apply": {
        const result = validateCommand(command) ?? this.execute(index, command)
        this.sessions.record(clientId, seq, index, isRead(command) && result.type !== "error" ? undefined : result)
        return result
      }
    }
  }

  /** Records that entries up to `index` that carry no command (Raft no-ops, config changes) were applied. */
  advanceTo(index: number): void {
    assert(Number.isSafeInteger(index) && index > this.applied, () => `apply of index ${index} after ${this.applied}`)
    this.applied = index
  }

  /** A local read (after a ReadIndex or lease check): the key's value and mod revision. */
  get(key: string): GetResult {
    const stored = this.data.get(key)
    return stored === undefined
      ? { type: "get", found: false, value: new Uint8Array(0), revision: 0 }
      : { type: "get", found: true, value: stored.value.slice(), revision: stored.revision }
  }

  /** A local range read: keys in [start, end) in key order, at most `limit` (1..10 000) and about 4 MiB. */
  range(start: string, end: string | undefined, limit: number): RangeResult | ErrorResult {
    const invalid = validateCommand({ op: "range", start, end, limit })
    return invalid ?? this.scan(start, end, limit)
  }

  private execute(index: number, command: KvCommand): KvResult {
    switch (command.op) {
      case "put":
        this.data.set(command.key, { value: command.value, revision: index })
        return { type: "put", revision: index }
      case "delete":
        return { type: "delete", revision: index, existed: this.data.delete(command.key) }
      case "cas": {
        const current = this.data.get(command.key)?.revision ?? 0
        const expected = command.expected === "absent" ? 0 : command.expected
        if (current !== expected) return { type: "cas", ok: false, revision: current }
        if (command.value === undefined) this.data.delete(command.key)
        else this.data.set(command.key, { value: command.value, revision: index })
        return { type: "cas", ok: true, revision: index }
      }
      case "get":
        return this.get(command.key)
      case "range":
        return this.scan(command.start, command.end, command.limit)
    }
  }

  private scan(start: string, end: string | undefined, limit: number): RangeResult {
    assert(limit >= 1 && limit <= MAX_RANGE_LIMIT, "unvalidated range limit")
    const items: Array<RangeItem> = []
    let bytes = 0
    let more = false
    for (const [key, stored] of this.data.range(start, end)) {
      if (items.length >= limit || bytes >= RANGE_BYTE_BUDGET) {
        more = true
        break
      }
      items.push({ key, value: stored.value.slice(), revision: stored.revision })
      bytes += utf8Length(key) + stored.value.length
    }
    return { type: "range", items, more }
  }

  /** The whole state (keys, sessions, applied index), checksummed; equal machines give equal bytes. */
  snapshot(): Uint8Array {
    const w = new Writer()
    w.u32(MAGIC)
    w.u8(VERSION)
    w.uint(this.applied)
    w.uint(this.data.size)
    for (const [key, stored] of this.data.entries()) {
      w.string(key)
      w.raw(stored.value)
      w.uint(stored.revision)
    }
    this.sessions.write(w)
    w.u32(crc32c(w.finish()))
    return w.finish()
  }

  /** Rebuilds a machine from `snapshot()` bytes; throws `KvSnapshotError` on any damage. */
  static restore(bytes: Uint8Array): KvStateMachine {
    try {
      return KvStateMachine.read(bytes)
    } catch (error) {
      if (error instanceof RaftDecodeError) throw new KvSnapshotError({ message: error.message })
      throw error
    }
  }

  private static read(bytes: Uint8Array): KvStateMachine {
    if (bytes.length < 9) throw new RaftDecodeError({ message: "snapshot shorter than its header" })
    const body = bytes.length - 4
    const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(body)
    if (crc32c(bytes, 0, body) !== stored) throw new RaftDecodeError({ message: "snapshot checksum mismatch" })
    const r = new Reader(bytes, 0, body)
    if (r.u32() !== MAGIC) throw new RaftDecodeError({ message: "not a kv snapshot (bad magic)" })
    const version = r.u8()
    if (version !== VERSION) throw new RaftDecodeError({ message: `unsupported kv snapshot version ${version}` })
    const applied = r.uint()
    const count = r.uint()
    const keys = new OrderedMap<string, Stored>(compareKeys)
    for (let i = 0; i < count; i++) {
      const key = r.string()
      const value = r.raw()
      const revision = r.uint()
      const last = keys.lastKey()
      if (key.length === 0 || utf8Length(key) > MAX_KEY_BYTES) throw new RaftDecodeError({ message: "bad key" })
      if (last !== undefined && compareKeys(last, key) >= 0) throw new RaftDecodeError({ message: "keys out of order" })
      if (value.length > MAX_VALUE_BYTES) throw new RaftDecodeError({ message: "value too large" })
      if (revision < 1 || revision > applied) throw new RaftDecodeError({ message: `revision ${revision} out of range` })
      keys.append(key, { value, revision })
    }
    const sessions = SessionTable.read(r, applied)
    r.done()
    const machine = new KvStateMachine({ sessionCapacity: sessions.capacity })
    machine.applied = applied
    machine.data = keys
    machine.sessions = sessions
    return machine
  }
}
