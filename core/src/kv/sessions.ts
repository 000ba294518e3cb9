/**
 * Client sessions (Raft thesis §6.3): what makes a client's retry apply
 * exactly once.
 *
 * Every command carries (clientId, seq). Per client the table keeps the last
 * seq applied and its result. A command with seq equal to the last is a retry
 * of a command that already applied: it is not applied again, and the cached
 * result is returned. A lower seq is stale (the client has moved on; a
 * delayed copy must not apply): `stale-sequence`. A higher seq applies.
 *
 * Reads (get, range) change nothing, so their results are not cached (they
 * can be a megabyte): a retried read runs again at the retry's index, which
 * still lies within the client's operation and so stays linearizable.
 *
 * The table is bounded: when a new client arrives at a full table the least
 * recently used session (smallest Raft index of last use) is evicted. The
 * Map's insertion order is kept equal to that order (a use deletes and
 * re-inserts), so eviction is O(1) and deterministic on every replica.
 * The limit of the guarantee: a retry whose session was evicted looks like
 * a new client and applies a second time. Capacity is part of the state
 * machine's definition, identical on every replica, and travels in snapshots.
 */
import { RaftDecodeError } from "../codec/decode-error.ts"
import type { Reader } from "../codec/reader.ts"
import type { Writer } from "../codec/writer.ts"
import { assert } from "../invariant/invariant.ts"
import { readResult, validateClientId, writeResult, type KvResult } from "./command.ts"

export const DEFAULT_SESSION_CAPACITY = 100_000

interface Session {
  readonly seq: number
  /** The Raft index of the session's last use. */
  readonly lastIndex: number
  /** The cached result; undefined for a read, which is run again on a retry. */
  readonly result: KvResult | undefined
}

/** How a (clientId, seq) relates to the client's session. */
export type SessionCheck =
  | { readonly kind: "apply" }
  | { readonly kind: "duplicate"; readonly result: KvResult | undefined }
  | { readonly kind: "stale"; readonly last: number }

export class SessionTable {
  private readonly sessions = new Map<string, Session>()
  readonly capacity: number
  private lastIndex = 0

  constructor(capacity = DEFAULT_SESSION_CAPACITY) {
    assert(Number.isSafeInteger(capacity) && capacity >= 1, () => `bad session capacity ${capacity}`)
    this.capacity = capacity
  }

  get size(): number {
    return this.sessions.size
  }

  check(clientId: string, seq: number): SessionCheck {
    const session = this.sessions.get(clientId)
    if (session === undefined || seq > session.seq) return { kind: "apply" }
    if (seq === session.seq) return { kind: "duplicate", result: session.result }
    return { kind: "stale", last: session.seq }
  }

  /** Records that `seq` applied at `index` with `result` (undefined for a read); evicts the LRU session if full. */
  record(clientId: string, seq: number, index: number, result: KvResult | undefined): void {
    assert(index > this.lastIndex, () => `session use at ${index} after ${this.lastIndex}`)
    this.lastIndex = index
    if (!this.sessions.delete(clientId) && this.sessions.size >= this.capacity) {
      const oldest = this.sessions.keys().next()
      assert(oldest.done !== true, "a full session table is empty")
      this.sessions.delete(oldest.value)
    }
    this.sessions.set(clientId, { seq, lastIndex: index, result })
  }

  /** A retry at `index` keeps its session recently used. */
  touch(clientId: string, index: number): void {
    const session = this.sessions.get(clientId)
    assert(session !== undefined, "touch of a missing session")
    this.record(clientId, session.seq, index, session.result)
  }

  /** The last applied seq of `clientId`, if it has a session. */
  lastSeq(clientId: string): number | undefined {
    return this.sessions.get(clientId)?.seq
  }

  /** Client ids from least to most recently used. */
  clients(): ReadonlyArray<string> {
    return [...this.sessions.keys()]
  }

  /** Snapshot body: capacity, count, then each session from least to most recently used. */
  write(w: Writer): void {
    w.uint(this.capacity)
    w.uint(this.sessions.size)
    for (const [clientId, s] of this.sessions) {
      w.string(clientId)
      w.uint(s.seq)
      w.uint(s.lastIndex)
      if (s.result === undefined) w.u8(0)
      else {
        w.u8(1)
        writeResult(w, s.result)
      }
    }
  }

  /** Reads what `write` wrote; throws `RaftDecodeError` on anything inconsistent with `appliedIndex`. */
  static read(r: Reader, appliedIndex: number): SessionTable {
    const capacity = r.uint()
    if (capacity < 1) throw new RaftDecodeError({ message: "session capacity 0" })
    const table = new SessionTable(capacity)
    const n = r.uint()
    if (n > capacity) throw new RaftDecodeError({ message: `${n} sessions exceed the capacity ${capacity}` })
    for (let i = 0; i < n; i++) {
      const clientId = r.string()
      const seq = r.uint()
      const lastIndex = r.uint()
      const result = r.bool() ? readResult(r) : undefined
      if (validateClientId(clientId) !== undefined) throw new RaftDecodeError({ message: "bad session client id" })
      if (table.sessions.has(clientId)) throw new RaftDecodeError({ message: "duplicate session" })
      if (lastIndex <= table.lastIndex || lastIndex > appliedIndex)
        throw new RaftDecodeError({ message: `session index ${lastIndex} out of order` })
      table.sessions.set(clientId, { seq, lastIndex, result })
      table.lastIndex = lastIndex
    }
    return table
  }
}
