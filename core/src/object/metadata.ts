/**
 * An object version's metadata record: what the Raft KV stores under the
 * object's key, and the only thing that makes an object exist (shards
 * without a committed record are garbage).
 *
 * Binary format, version 1 (big-endian, Writer/Reader of codec/):
 * u32 magic "COBJ", u8 version, strings bucket, key, versionId, uint size,
 * uint createdMs, u32 content CRC32C, u32 n + n (name, value) checksum
 * pairs, u32 n + n (name, value) user metadata pairs, u8 body kind, body,
 * u32 CRC32C of every byte before it. Bodies: inline: raw bytes;
 * replicated: string body id, u32 n + node ids; striped: string body id,
 * u32 k, u32 m, uint shard size,
 * u32 stripe count, per stripe k+m node ids then k+m shard CRC32Cs;
 * parts (a completed multipart upload): u32 n, per part uint size then
 * that part's body (inline, replicated or striped; parts do not nest).
 * Strings are UTF-8 and must be well-formed.
 *
 * Version 2 (written only when a body was stored degraded, so healthy
 * records stay readable by version-1 binaries): the same, plus after each
 * replicated body's node list and after each stripe's CRCs a u32 n and n
 * u32 indices of the copies or shards that were not written (ascending).
 */
import { Data, Effect, Result } from "effect"
import { crc32c } from "../checksum/crc32c.ts"
import { Clock } from "../clock/clock.ts"
import { assert } from "../invariant/invariant.ts"
import { RaftDecodeError } from "../codec/decode-error.ts"
import { Reader } from "../codec/reader.ts"
import { Writer } from "../codec/writer.ts"
import { geometryProblem, stripeCount } from "./layout.ts"
import { makeScheme, SchemeError, type ErasureScheme } from "./scheme.ts"

/** The shards of one stripe: element i of both arrays is shard i (data first, then parity). */
export interface StripeRecord {
  readonly nodes: ReadonlyArray<string>
  readonly shardCrcs: ReadonlyArray<number>
  /**
   * Shards not written when the body was committed (their node was down or
   * too slow; a degraded write): ascending indices, at most m of them. The
   * CRC of a missing shard is known (every shard is encoded before any is
   * sent), so repair can check what it rebuilds. Absent means none.
   */
  readonly missing?: ReadonlyArray<number>
}

/** One part of an assembled object: its bytes are stored as any small or large object's are. */
export interface PartBody {
  readonly size: number
  readonly body: Exclude<ObjectBody, { readonly kind: "parts" }>
}

export type ObjectBody =
  | { readonly kind: "inline"; readonly data: Uint8Array }
  | { readonly kind: "parts"; readonly parts: ReadonlyArray<PartBody> }
  /** `id` names the body's shards (see object-data.ts); unique per write. */
  /** `missing`: indices into `nodes` of copies not written (a degraded write); absent means none. */
  | { readonly kind: "replicated"; readonly id: string; readonly nodes: ReadonlyArray<string>; readonly missing?: ReadonlyArray<number> }
  | {
    readonly kind: "striped"
    readonly id: string
    readonly scheme: ErasureScheme
    readonly shardSize: number
    readonly stripes: ReadonlyArray<StripeRecord>
  }

export interface ObjectMeta {
  readonly bucket: string
  readonly key: string
  readonly versionId: string
  readonly size: number
  /** Wall-clock epoch milliseconds on the node that accepted the write (Last-Modified); may not be monotonic. */
  readonly createdMs: number
  /** CRC32C of the whole object, checked end to end on reads. */
  readonly contentCrc32c: number
  /** Further content checksums as (algorithm, value) pairs, e.g. the client's MD5 or SHA-256. */
  readonly checksums: ReadonlyArray<readonly [string, string]>
  readonly userMetadata: ReadonlyArray<readonly [string, string]>
  readonly body: ObjectBody
}

export class ObjectMetaDecodeError extends Data.TaggedError("ObjectMetaDecodeError")<{ readonly message: string }> {}

const MAGIC = 0x434f424a // "COBJ"
const VERSION = 1
/** Version 2 adds the lists of missing shards (see the header). */
const VERSION_MISSING = 2
const bodyKinds = ["inline", "replicated", "striped", "parts"] as const

/** A record stamped with this node's wall-clock time. */
export const makeObjectMeta = (fields: Omit<ObjectMeta, "createdMs">): Effect.Effect<ObjectMeta, never, Clock> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const createdMs = Math.max(0, Math.floor(yield* clock.wallMs))
    return { ...fields, createdMs }
  })

const writePairs = (w: Writer, pairs: ReadonlyArray<readonly [string, string]>) => {
  w.u32(pairs.length)
  for (const [name, value] of pairs) {
    w.string(name)
    w.string(value)
  }
}

const writeIds = (w: Writer, ids: ReadonlyArray<string>) => {
  w.u32(ids.length)
  for (const id of ids) w.string(id)
}

export const encodeObjectMeta = (meta: ObjectMeta): Uint8Array => {
  const problem = metaProblem(meta)
  assert(problem === undefined, () => `encoding an invalid object record: ${problem}`)
  const w = new Writer()
  const version = isDegraded(meta.body) ? VERSION_MISSING : VERSION
  w.u32(MAGIC)
  w.u8(version)
  w.string(meta.bucket)
  w.string(meta.key)
  w.string(meta.versionId)
  w.uint(meta.size)
  w.uint(meta.createdMs)
  w.u32(meta.contentCrc32c)
  writePairs(w, meta.checksums)
  writePairs(w, meta.userMetadata)
  writeBody(w, meta.body, version)
  const bytes = w.finish()
  const out = new Uint8Array(bytes.length + 4)
  out.set(bytes)
  new DataView(out.buffer).setUint32(bytes.length, crc32c(bytes))
  return out
}

/** Whether any copy or shard of `body` was not written (its record then needs version 2). */
export const isDegraded = (body: ObjectBody): boolean => {
  switch (body.kind) {
    case "inline":
      return false
    case "replicated":
      return (body.missing?.length ?? 0) > 0
    case "striped":
      return body.stripes.some((stripe) => (stripe.missing?.length ?? 0) > 0)
    case "parts":
      return body.parts.some((part) => isDegraded(part.body))
  }
}

const writeIndices = (w: Writer, indices: ReadonlyArray<number> | undefined) => {
  w.u32(indices?.length ?? 0)
  for (const i of indices ?? []) w.u32(i)
}

const writeBody = (w: Writer, body: ObjectBody, version: number): void => {
  w.u8(bodyKinds.indexOf(body.kind))
  switch (body.kind) {
    case "parts":
      w.u32(body.parts.length)
      for (const part of body.parts) {
        w.uint(part.size)
        writeBody(w, part.body, version)
      }
      break
    case "inline":
      w.raw(body.data)
      break
    case "replicated":
      w.string(body.id)
      writeIds(w, body.nodes)
      if (version === VERSION_MISSING) writeIndices(w, body.missing)
      break
    case "striped":
      w.string(body.id)
      w.u32(body.scheme.dataShards)
      w.u32(body.scheme.parityShards)
      w.uint(body.shardSize)
      w.u32(body.stripes.length)
      for (const stripe of body.stripes) {
        for (const id of stripe.nodes) w.string(id)
        for (const crc of stripe.shardCrcs) w.u32(crc)
        if (version === VERSION_MISSING) writeIndices(w, stripe.missing)
      }
      break
  }
}

const fail = (message: string): never => {
  throw new ObjectMetaDecodeError({ message })
}

const readPairs = (r: Reader): ReadonlyArray<readonly [string, string]> => {
  const n = r.u32()
  const out: Array<readonly [string, string]> = []
  for (let i = 0; i < n; i++) out.push([r.string(), r.string()])
  return out
}

const readIds = (r: Reader, n: number): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let i = 0; i < n; i++) out.push(r.string())
  return out
}

/** A list of missing indices (version 2); checked against its body by `bodyProblem`. */
const readIndices = (r: Reader, version: number, limit: number): ReadonlyArray<number> | undefined => {
  if (version !== VERSION_MISSING) return undefined
  const n = r.u32()
  if (n > limit) fail(`${n} missing of ${limit}`)
  const out: Array<number> = []
  for (let i = 0; i < n; i++) out.push(r.u32())
  return n === 0 ? undefined : out
}

const readBody = (r: Reader, size: number, version: number, nested = false): ObjectBody => {
  const kind = bodyKinds[r.u8()] ?? fail("unknown body kind")
  switch (kind) {
    case "parts": {
      if (nested) return fail("parts inside a part")
      const n = r.u32()
      if (n > MAX_PARTS) fail(`${n} parts`)
      const parts: Array<PartBody> = []
      for (let i = 0; i < n; i++) {
        const partSize = r.uint()
        const body = readBody(r, partSize, version, true)
        if (body.kind === "parts") return fail("parts inside a part")
        parts.push({ size: partSize, body })
      }
      return { kind, parts }
    }
    case "inline":
      return { kind, data: r.raw() }
    case "replicated": {
      const id = r.string()
      const nodes = readIds(r, r.u32())
      const missing = readIndices(r, version, nodes.length)
      return missing === undefined ? { kind, id, nodes } : { kind, id, nodes, missing }
    }
    case "striped": {
      const id = r.string()
      const k = r.u32()
      const m = r.u32()
      let scheme: ErasureScheme
      try {
        // 1+0: a one-node cluster's chunks (no redundancy is promised there).
        scheme = k === 1 && m === 0 ? { dataShards: 1, parityShards: 0 } : makeScheme(k, m)
      } catch (error) {
        if (error instanceof SchemeError) return fail(`scheme: ${error.message}`)
        throw error
      }
      const shardSize = r.uint()
      const geometry = { size, dataShards: k, shardSize }
      const problem = geometryProblem(geometry)
      if (problem !== undefined) fail(problem)
      const count = r.u32()
      // Checked before the loop, so random bytes cannot make it allocate for billions of stripes.
      if (count !== stripeCount(geometry)) fail(`${count} stripes, size and shard size give ${stripeCount(geometry)}`)
      const stripes: Array<StripeRecord> = []
      for (let s = 0; s < count; s++) {
        const nodes = readIds(r, k + m)
        const shardCrcs: Array<number> = []
        for (let i = 0; i < k + m; i++) shardCrcs.push(r.u32())
        const missing = readIndices(r, version, k + m)
        stripes.push(missing === undefined ? { nodes, shardCrcs } : { nodes, shardCrcs, missing })
      }
      return { kind, id, scheme, shardSize, stripes }
    }
  }
}

/** Decodes a record; any damage or inconsistency is an `ObjectMetaDecodeError`, never another exception. */
export const decodeObjectMeta = (bytes: Uint8Array): Result.Result<ObjectMeta, ObjectMetaDecodeError> => {
  try {
    if (bytes.length < 9) fail("too short")
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const bodyEnd = bytes.length - 4
    if (view.getUint32(bodyEnd) !== crc32c(bytes, 0, bodyEnd)) fail("checksum mismatch")
    const r = new Reader(bytes, 0, bodyEnd)
    if (r.u32() !== MAGIC) fail("not an object record")
    const version = r.u8()
    if (version !== VERSION && version !== VERSION_MISSING) fail(`unknown version ${version}`)
    const bucket = r.string()
    const key = r.string()
    const versionId = r.string()
    const size = r.uint()
    const createdMs = r.uint()
    const contentCrc32c = r.u32()
    const checksums = readPairs(r)
    const userMetadata = readPairs(r)
    const body = readBody(r, size, version)
    r.done()
    const meta: ObjectMeta = { bucket, key, versionId, size, createdMs, contentCrc32c, checksums, userMetadata, body }
    const problem = metaProblem(meta)
    if (problem !== undefined) fail(problem)
    return Result.succeed(meta)
  } catch (error) {
    if (error instanceof ObjectMetaDecodeError) return Result.fail(error)
    if (error instanceof RaftDecodeError) return Result.fail(new ObjectMetaDecodeError({ message: error.message }))
    throw error
  }
}

const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff
const distinct = (ids: ReadonlyArray<string>) => new Set(ids).size === ids.length

/** Why a list of missing indices is impossible for `count` slots of which at least `present` must be written. */
const missingProblem = (missing: ReadonlyArray<number> | undefined, count: number, present: number): string | undefined => {
  if (missing === undefined) return undefined
  for (let i = 0; i < missing.length; i++) {
    const index = missing[i]!
    if (!Number.isInteger(index) || index < 0 || index >= count) return `missing index ${index} of ${count}`
    if (i > 0 && index <= missing[i - 1]!) return "missing indices not ascending"
  }
  return count - missing.length >= present ? undefined : `${missing.length} of ${count} missing, ${present} must be written`
}

/** Why a record is inconsistent, or undefined: checked when encoding (a bug) and decoding (damage). */
export const metaProblem = (meta: ObjectMeta): string | undefined => {
  if (!Number.isSafeInteger(meta.size) || meta.size < 0) return `bad size ${meta.size}`
  if (!Number.isSafeInteger(meta.createdMs) || meta.createdMs < 0) return `bad created time ${meta.createdMs}`
  if (!isU32(meta.contentCrc32c)) return "bad content CRC"
  return bodyProblem(meta.body, meta.size)
}

/** Body ids become shard file names with a suffix: letters, digits, `_` and `-` only (no dots). */
export const BODY_ID = /^[A-Za-z0-9_-]{1,120}$/

/** Multipart uploads have at most this many parts (S3's limit). */
export const MAX_PARTS = 10_000

const bodyProblem = (body: ObjectBody, size: number): string | undefined => {
  switch (body.kind) {
    case "parts": {
      let total = 0
      for (const part of body.parts) {
        const problem = bodyProblem(part.body, part.size)
        if (problem !== undefined) return `part: ${problem}`
        total += part.size
      }
      return total === size ? undefined : `parts add up to ${total} bytes, size ${size}`
    }
    case "inline":
      return body.data.length === size ? undefined : `inline data is ${body.data.length} bytes, size ${size}`
    case "replicated":
      if (!BODY_ID.test(body.id)) return `bad body id ${JSON.stringify(body.id)}`
      // One copy only on a one-node cluster, which promises no redundancy.
      if (body.nodes.length < 1) return "a replicated object needs a copy"
      if (!distinct(body.nodes)) return "copies on the same node twice"
      return missingProblem(body.missing, body.nodes.length, 1)
    case "striped": {
      if (!BODY_ID.test(body.id)) return `bad body id ${JSON.stringify(body.id)}`
      const { dataShards: k, parityShards: m } = body.scheme
      const geometry = { size, dataShards: k, shardSize: body.shardSize }
      const problem = geometryProblem(geometry)
      if (problem !== undefined) return problem
      if (body.stripes.length !== stripeCount(geometry)) return "stripe count does not match size and shard size"
      for (const stripe of body.stripes) {
        if (stripe.nodes.length !== k + m || stripe.shardCrcs.length !== k + m) return "a stripe without k+m shards"
        if (!distinct(stripe.nodes)) return "two shards of a stripe on one node"
        if (!stripe.shardCrcs.every(isU32)) return "bad shard CRC"
        const missing = missingProblem(stripe.missing, k + m, k)
        if (missing !== undefined) return missing
      }
      return undefined
    }
  }
}
