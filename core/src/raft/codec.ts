/**
 * Raft's wire and disk encoding: versioned binary frames with a CRC32C, so
 * that a flipped bit is a dropped message or a detected corrupt record,
 * never a wrong one.
 *
 * Frame: magic u16 "RF", version u8, kind u8, body length u32, CRC32C u32 of
 * the first 8 header bytes and the body, body. Integers up to 2^53 are written as two u32 halves.
 */
import { Data } from "effect"
import { crc32c, crc32cUpdate } from "../checksum/crc32c.ts"
import { assert } from "../invariant/invariant.ts"
import type { NodeId } from "../node/node-id.ts"
import type { ClusterConfig, ConfChange, ConfChangeStep } from "./membership.ts"
import type { Entry, HardState, Message, SnapshotMeta } from "./types.ts"

export class RaftDecodeError extends Data.TaggedError("RaftDecodeError")<{ readonly message: string }> {}

const MAGIC = 0x5246
const VERSION = 1
const HEADER = 12

const messageTypes = [
  "vote", "vote-response", "append", "append-response", "heartbeat", "heartbeat-response", "snapshot",
  "snapshot-response", "timeout-now", "propose", "read-index", "read-index-response", "repair", "repair-response",
  "repair-snapshot"
] as const
const entryKinds = ["command", "config", "noop"] as const

const encoder = new TextEncoder()
// ignoreBOM: a leading U+FEFF is part of the string (a key "\uFEFFa" must not read back as "a").
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** A growable byte writer. */
export class Writer {
  private bytes = new Uint8Array(256)
  private view = new DataView(this.bytes.buffer)
  length = 0

  private ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra))
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
    this.view = new DataView(grown.buffer)
  }

  u8(v: number): void {
    this.ensure(1)
    this.view.setUint8(this.length, v)
    this.length += 1
  }

  u32(v: number): void {
    this.ensure(4)
    this.view.setUint32(this.length, v >>> 0)
    this.length += 4
  }

  /** A non-negative safe integer. */
  uint(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, () => `not a non-negative safe integer: ${v}`)
    this.u32(Math.floor(v / 0x1_0000_0000))
    this.u32(v % 0x1_0000_0000)
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0)
  }

  raw(data: Uint8Array): void {
    this.u32(data.length)
    this.ensure(data.length)
    this.bytes.set(data, this.length)
    this.length += data.length
  }

  string(v: string): void {
    this.raw(encoder.encode(v))
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}

/** A bounds-checked byte reader; every overrun is a `RaftDecodeError`. */
export class Reader {
  private offset: number
  private readonly view: DataView
  private readonly bytes: Uint8Array
  private readonly end: number

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.offset = offset
    this.end = end
  }

  private need(n: number): void {
    if (this.offset + n > this.end) throw new RaftDecodeError({ message: `truncated at byte ${this.offset} (needed ${n})` })
  }

  u8(): number {
    this.need(1)
    return this.view.getUint8(this.offset++)
  }

  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.offset)
    this.offset += 4
    return v
  }

  uint(): number {
    const hi = this.u32()
    const lo = this.u32()
    const v = hi * 0x1_0000_0000 + lo
    if (!Number.isSafeInteger(v)) throw new RaftDecodeError({ message: "integer out of range" })
    return v
  }

  bool(): boolean {
    const v = this.u8()
    if (v > 1) throw new RaftDecodeError({ message: `bad boolean ${v}` })
    return v === 1
  }

  raw(): Uint8Array {
    const length = this.u32()
    this.need(length)
    const out = this.bytes.slice(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  string(): string {
    try {
      return decoder.decode(this.raw())
    } catch (error) {
      if (error instanceof RaftDecodeError) throw error
      throw new RaftDecodeError({ message: "invalid UTF-8" })
    }
  }

  /** Nothing left to read (a record written by an older version ends early). */
  atEnd(): boolean {
    return this.offset === this.end
  }

  done(): void {
    if (this.offset !== this.end) throw new RaftDecodeError({ message: `${this.end - this.offset} trailing bytes` })
  }
}

const writeIds = (w: Writer, ids: ReadonlyArray<NodeId>) => {
  w.u32(ids.length)
  for (const id of ids) w.string(id)
}
const readIds = (r: Reader): ReadonlyArray<NodeId> => {
  const n = r.u32()
  if (n > 10_000) throw new RaftDecodeError({ message: "too many node ids" })
  const out: Array<NodeId> = []
  for (let i = 0; i < n; i++) out.push(r.string() as NodeId)
  return out
}

export const writeConfig = (w: Writer, c: ClusterConfig): void => {
  writeIds(w, c.voters)
  writeIds(w, c.outgoing)
  writeIds(w, c.learners)
}
export const readConfig = (r: Reader): ClusterConfig => ({ voters: readIds(r), outgoing: readIds(r), learners: readIds(r) })

const writeMeta = (w: Writer, m: SnapshotMeta) => {
  w.uint(m.index)
  w.uint(m.term)
  writeConfig(w, m.config)
}
const readMeta = (r: Reader): SnapshotMeta => ({ index: r.uint(), term: r.uint(), config: readConfig(r) })

export const writeEntry = (w: Writer, e: Entry): void => {
  w.uint(e.term)
  w.uint(e.index)
  w.u8(entryKinds.indexOf(e.kind))
  w.raw(e.data)
}
export const readEntry = (r: Reader): Entry => {
  const term = r.uint()
  const index = r.uint()
  const kind = entryKinds[r.u8()]
  if (kind === undefined) throw new RaftDecodeError({ message: "unknown entry kind" })
  return { term, index, kind, data: r.raw() }
}

const writeEntries = (w: Writer, entries: ReadonlyArray<Entry>) => {
  w.u32(entries.length)
  for (const e of entries) writeEntry(w, e)
}
const readEntries = (r: Reader): ReadonlyArray<Entry> => {
  const n = r.u32()
  const out: Array<Entry> = []
  for (let i = 0; i < n; i++) out.push(readEntry(r))
  return out
}

/** Wraps a body in a checksummed frame of `kind`. */
export const frame = (kind: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(HEADER + body.length)
  const view = new DataView(out.buffer)
  view.setUint16(0, MAGIC)
  view.setUint8(2, VERSION)
  view.setUint8(3, kind)
  view.setUint32(4, body.length)
  out.set(body, HEADER)
  // The checksum covers the header's first 8 bytes too: a flipped kind must not parse as another message.
  view.setUint32(8, crc32cUpdate(crc32c(out, 0, 8), body))
  return out
}

/** Checks a frame and returns its kind and a reader over its body. */
export const unframe = (bytes: Uint8Array): { readonly kind: number; readonly body: Reader } => {
  if (bytes.length < HEADER) throw new RaftDecodeError({ message: "frame shorter than its header" })
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint16(0) !== MAGIC) throw new RaftDecodeError({ message: "bad magic" })
  if (view.getUint8(2) !== VERSION) throw new RaftDecodeError({ message: `unsupported version ${view.getUint8(2)}` })
  const length = view.getUint32(4)
  if (HEADER + length !== bytes.length) throw new RaftDecodeError({ message: "frame length mismatch" })
  if (crc32cUpdate(crc32c(bytes, 0, 8), bytes, HEADER, HEADER + length) !== view.getUint32(8)) throw new RaftDecodeError({ message: "checksum mismatch" })
  return { kind: view.getUint8(3), body: new Reader(bytes, HEADER, HEADER + length) }
}

export const encodeMessage = (m: Message): Uint8Array => {
  const w = new Writer()
  w.string(m.from)
  w.string(m.to)
  w.uint(m.term)
  switch (m.type) {
    case "vote":
      w.bool(m.preVote); w.bool(m.transfer); w.uint(m.lastIndex); w.uint(m.lastTerm)
      break
    case "vote-response":
      w.bool(m.preVote); w.bool(m.granted)
      break
    case "append":
      w.uint(m.prevIndex); w.uint(m.prevTerm); writeEntries(w, m.entries); w.uint(m.commit)
      break
    case "append-response":
      w.bool(m.success); w.uint(m.index); w.uint(m.hintIndex); w.uint(m.hintTerm)
      break
    case "heartbeat":
      w.uint(m.commit); w.uint(m.readRound)
      break
    case "heartbeat-response":
      w.uint(m.readRound)
      break
    case "snapshot":
      writeMeta(w, m.meta); w.uint(m.offset); w.uint(m.total); w.raw(m.chunk)
      break
    case "snapshot-response":
      w.uint(m.index); w.uint(m.nextOffset + 1); w.bool(m.reject)
      break
    case "timeout-now":
      break
    case "propose":
      w.u32(m.commands.length)
      for (const c of m.commands) w.raw(c)
      break
    case "read-index":
      w.uint(m.context)
      break
    case "read-index-response":
      w.uint(m.context); w.uint(m.index)
      break
    case "repair":
      w.u32(m.indexes.length)
      for (const i of m.indexes) w.uint(i)
      break
    case "repair-response":
      w.uint(m.commit); w.uint(m.lastIndex); w.uint(m.lastTerm)
      writeEntries(w, m.entries)
      break
    case "repair-snapshot":
      writeMeta(w, m.meta); w.raw(m.data)
      break
  }
  return frame(messageTypes.indexOf(m.type), w.finish())
}

/** Decodes a message; throws `RaftDecodeError` on any damage. */
export const decodeMessage = (bytes: Uint8Array): Message => {
  const { kind, body } = unframe(bytes)
  return decodeMessageBody(kind, body)
}

/** Frame kinds below this are Raft messages; the rest belong to protocols sharing the transport. */
export const FIRST_FOREIGN_KIND = 64

/** Decodes the body of an already checked frame of `kind`. */
export const decodeMessageBody = (kind: number, r: Reader): Message => {
  const type = messageTypes[kind]
  if (type === undefined) throw new RaftDecodeError({ message: `unknown message type ${kind}` })
  const from = r.string() as NodeId
  const to = r.string() as NodeId
  const term = r.uint()
  const base = { from, to, term }
  let m: Message
  switch (type) {
    case "vote":
      m = { ...base, type, preVote: r.bool(), transfer: r.bool(), lastIndex: r.uint(), lastTerm: r.uint() }
      break
    case "vote-response":
      m = { ...base, type, preVote: r.bool(), granted: r.bool() }
      break
    case "append":
      m = { ...base, type, prevIndex: r.uint(), prevTerm: r.uint(), entries: readEntries(r), commit: r.uint() }
      break
    case "append-response":
      m = { ...base, type, success: r.bool(), index: r.uint(), hintIndex: r.uint(), hintTerm: r.uint() }
      break
    case "heartbeat":
      m = { ...base, type, commit: r.uint(), readRound: r.uint() }
      break
    case "heartbeat-response":
      m = { ...base, type, readRound: r.uint() }
      break
    case "snapshot":
      m = { ...base, type, meta: readMeta(r), offset: r.uint(), total: r.uint(), chunk: r.raw() }
      break
    case "snapshot-response":
      m = { ...base, type, index: r.uint(), nextOffset: r.uint() - 1, reject: r.bool() }
      break
    case "timeout-now":
      m = { ...base, type }
      break
    case "propose": {
      const n = r.u32()
      const commands: Array<Uint8Array> = []
      for (let i = 0; i < n; i++) commands.push(r.raw())
      m = { ...base, type, commands }
      break
    }
    case "read-index":
      m = { ...base, type, context: r.uint() }
      break
    case "read-index-response":
      m = { ...base, type, context: r.uint(), index: r.uint() }
      break
    case "repair": {
      const n = r.u32()
      const indexes: Array<number> = []
      for (let i = 0; i < n; i++) indexes.push(r.uint())
      m = { ...base, type, indexes }
      break
    }
    case "repair-response":
      m = { ...base, type, commit: r.uint(), lastIndex: r.uint(), lastTerm: r.uint(), entries: readEntries(r) }
      break
    case "repair-snapshot":
      m = { ...base, type, meta: readMeta(r), data: r.raw() }
      break
  }
  r.done()
  return m
}

const stepOps = ["add-voter", "remove", "add-learner"] as const

export const encodeConfChange = (c: ConfChange): Uint8Array => {
  const w = new Writer()
  if (c.kind === "leave-joint") {
    w.u8(1)
  } else {
    w.u8(0)
    w.u32(c.steps.length)
    for (const s of c.steps) {
      w.u8(stepOps.indexOf(s.op))
      w.string(s.node)
    }
  }
  return w.finish()
}

export const decodeConfChange = (bytes: Uint8Array): ConfChange => {
  const r = new Reader(bytes)
  const kind = r.u8()
  if (kind === 1) {
    r.done()
    return { kind: "leave-joint" }
  }
  if (kind !== 0) throw new RaftDecodeError({ message: "unknown conf change kind" })
  const n = r.u32()
  const steps: Array<ConfChangeStep> = []
  for (let i = 0; i < n; i++) {
    const op = stepOps[r.u8()]
    if (op === undefined) throw new RaftDecodeError({ message: "unknown conf change op" })
    steps.push({ op, node: r.string() as NodeId })
  }
  r.done()
  return { kind: "enter-joint", steps }
}

export const encodeHardState = (h: HardState): Uint8Array => {
  const w = new Writer()
  w.uint(h.term)
  w.string(h.vote ?? "")
  w.uint(h.commit)
  return w.finish()
}

export const decodeHardState = (bytes: Uint8Array): HardState => {
  const r = new Reader(bytes)
  const term = r.uint()
  const vote = r.string()
  const commit = r.uint()
  r.done()
  return { term, vote: vote === "" ? undefined : (vote as NodeId), commit }
}

export const encodeEntry = (e: Entry): Uint8Array => {
  const w = new Writer()
  writeEntry(w, e)
  return w.finish()
}

export const decodeEntry = (bytes: Uint8Array): Entry => {
  const r = new Reader(bytes)
  const e = readEntry(r)
  r.done()
  return e
}

export const encodeSnapshotMeta = (m: SnapshotMeta): Uint8Array => {
  const w = new Writer()
  writeMeta(w, m)
  return w.finish()
}

export const decodeSnapshotMeta = (bytes: Uint8Array): SnapshotMeta => {
  const r = new Reader(bytes)
  const m = readMeta(r)
  r.done()
  return m
}
