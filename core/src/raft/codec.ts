/**
 * Raft's wire and disk encoding: its messages, entries, hard state, snapshot
 * metadata and membership changes, written with the shared binary codec
 * (`codec/writer.ts`, `codec/reader.ts`) and sent in its checksummed frames
 * (`codec/frame.ts`), so that a flipped bit is a dropped message or a
 * detected corrupt record, never a wrong one. A message's frame kind is its
 * type's index; Raft owns kinds 0 to 63.
 */
import { RaftDecodeError } from "../codec/decode-error.ts"
import { frame, unframe } from "../codec/frame.ts"
import { Reader } from "../codec/reader.ts"
import { Writer } from "../codec/writer.ts"
import type { NodeId } from "../node/node-id.ts"
import type { ClusterConfig, ConfChange, ConfChangeStep } from "./membership.ts"
import type { Entry, HardState, Message, SnapshotMeta } from "./types.ts"

// The shared codec, still importable from here (Raft's public module exports it, as it always did).
export { frame, RaftDecodeError, Reader, unframe, Writer }

const messageTypes = [
  "vote", "vote-response", "append", "append-response", "heartbeat", "heartbeat-response", "snapshot",
  "snapshot-response", "timeout-now", "propose", "read-index", "read-index-response", "repair", "repair-response",
  "repair-snapshot"
] as const
const entryKinds = ["command", "config", "noop"] as const

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

/** The frame kinds Raft owns on the node's transport (kinds it does not know yet are dropped as damaged). */
export const RAFT_FRAME_KINDS: ReadonlyArray<number> = Array.from({ length: FIRST_FOREIGN_KIND }, (_, kind) => kind)

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
