/**
 * The one encoder and decoder of every Kafka message: it walks a schema
 * (`schema.ts`) for one version. A field outside its versions is skipped
 * (decoded as its default); in a flexible version strings, bytes and arrays
 * are compact and every struct ends with a tagged-field section, where
 * tagged fields travel as (tag, size, value) in ascending tag order and
 * unknown tags are kept as raw bytes (KIP-482: a reader skips what it does
 * not know, so old and new peers interoperate).
 */
import { KafkaDecodeError, KafkaEncodeError } from "./errors.ts"
import { decodeFault, KafkaReader } from "./reader.ts"
import type { FieldNode, RawTaggedField, TypeNode } from "./schema.ts"
import { valueEqual } from "./value-equal.ts"
import { inRange } from "./versions.ts"
import { KafkaWriter } from "./writer.ts"

/** The version being coded and whether it is flexible. */
export interface Ctx {
  readonly version: number
  readonly flexible: boolean
}

type Struct = Readonly<Record<string, unknown>>
type StructNode = Extract<TypeNode, { kind: "struct" }>

const encodeFault = (message: string): KafkaEncodeError => new KafkaEncodeError({ message })

const isTagged = (f: FieldNode, ctx: Ctx): boolean => ctx.flexible && f.tag !== undefined && inRange(f.taggedVersions, ctx.version)

// ---- decoding ----

/** Reads one value of `type`; `nullable` says whether this version allows null. */
export const readValue = (r: KafkaReader, type: TypeNode, ctx: Ctx, nullable: boolean): unknown => {
  switch (type.kind) {
    case "int8":
      return r.int8()
    case "int16":
      return r.int16()
    case "uint16":
      return r.uint16()
    case "int32":
      return r.int32()
    case "uint32":
      return r.uint32()
    case "int64":
      return r.int64()
    case "float64":
      return r.float64()
    case "bool":
      return r.bool()
    case "uuid":
      return r.uuid()
    case "string":
      return r.string(ctx.flexible, nullable)
    case "bytes":
      return r.byteString(ctx.flexible, nullable)
    case "records":
      // A view into the request: record batches (megabytes) are checked and copied once further on,
      // when they are proposed; small byte fields stay copies, since some are kept (group metadata).
      return r.byteString(ctx.flexible, nullable, true)
    case "array":
      return readArray(r, type.element, ctx, nullable)
    case "struct":
      return readStruct(r, type, ctx)
  }
}

const readArray = (r: KafkaReader, element: TypeNode, ctx: Ctx, nullable: boolean): ReadonlyArray<unknown> | null => {
  const n = r.arrayLength(ctx.flexible, nullable, minBytes(element, ctx))
  if (n === null) return null
  const out: Array<unknown> = []
  for (let i = 0; i < n; i++) out.push(readValue(r, element, ctx, false))
  return out
}

/** Prefixes a decode failure with where it happened (`topics.partitions.records: …`). */
const within = <A>(name: string, body: () => A): A => {
  try {
    return body()
  } catch (error) {
    if (error instanceof KafkaDecodeError) throw new KafkaDecodeError({ fault: error.fault, message: `${name}: ${error.message}` })
    if (error instanceof KafkaEncodeError) throw new KafkaEncodeError({ message: `${name}: ${error.message}` })
    throw error
  }
}

export const readStruct = (r: KafkaReader, type: StructNode, ctx: Ctx): Struct => {
  const out: Record<string, unknown> = {}
  for (const f of type.fields) {
    if (!inRange(f.versions, ctx.version) || isTagged(f, ctx)) out[f.name] = f.defaultValue
    else out[f.name] = within(f.name, () => readValue(r, f.type, ctx, inRange(f.nullableVersions, ctx.version)))
  }
  if (ctx.flexible) {
    const unknown = readTaggedSection(r, type, ctx, out)
    if (unknown.length > 0) out.unknownTaggedFields = unknown
  }
  return out
}

/** Reads a tagged section: known tags into `out`, unknown ones returned raw. */
export const readTaggedSection = (r: KafkaReader, type: StructNode, ctx: Ctx, out: Record<string, unknown>): ReadonlyArray<RawTaggedField> => {
  const count = r.uvarint()
  // A tagged field takes at least two bytes (its tag and its size).
  if (count > r.limits.maxTaggedFields) throw decodeFault("bad-length", `${count} tagged fields exceed the limit ${r.limits.maxTaggedFields}`)
  if (count * 2 > r.remaining()) throw decodeFault("truncated", `${count} tagged fields run past the ${r.remaining()} bytes left`)
  const seen = new Set<number>()
  const unknown: Array<RawTaggedField> = []
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint()
    if (seen.has(tag)) throw decodeFault("bad-tagged-field", `tag ${tag} appears twice in ${type.name}`)
    seen.add(tag)
    const size = r.uvarint()
    if (size > r.remaining()) throw decodeFault("truncated", `tagged field ${tag} of ${size} bytes runs past the ${r.remaining()} bytes left`)
    const body = r.slice(size, `tagged field ${tag}`)
    const known = type.fields.find((f) => f.tag === tag && inRange(f.versions, ctx.version) && isTagged(f, ctx))
    if (known === undefined) {
      unknown.push({ tag, data: body.bytes.slice(body.at, body.end) })
      continue
    }
    out[known.name] = within(known.name, () => readValue(body, known.type, ctx, inRange(known.nullableVersions, ctx.version)))
    if (body.remaining() !== 0) throw decodeFault("bad-tagged-field", `tagged field ${known.name} leaves ${body.remaining()} of its ${size} bytes unread`)
  }
  return unknown
}

/** The fewest bytes a value of `type` can take in this version: bounds array counts before allocation. */
export const minBytes = (type: TypeNode, ctx: Ctx): number => {
  switch (type.kind) {
    case "int8":
    case "bool":
      return 1
    case "int16":
    case "uint16":
      return 2
    case "int32":
    case "uint32":
      return 4
    case "int64":
    case "float64":
      return 8
    case "uuid":
      return 16
    case "string":
      return ctx.flexible ? 1 : 2
    case "bytes":
    case "records":
    case "array":
      return ctx.flexible ? 1 : 4
    case "struct":
      return type.fields.reduce(
        (n, f) => n + (inRange(f.versions, ctx.version) && !isTagged(f, ctx) ? minBytes(f.type, ctx) : 0),
        ctx.flexible ? 1 : 0
      )
  }
}

// ---- encoding ----

const expect = <T>(ok: boolean, value: unknown, what: string): T => {
  if (!ok) throw encodeFault(`expected ${what}, got ${typeof value}`)
  return value as T
}
const num = (v: unknown): number => expect<number>(typeof v === "number", v, "a number")
const bytesOf = (v: unknown): Uint8Array => expect<Uint8Array>(v instanceof Uint8Array, v, "a Uint8Array")

export const writeValue = (w: KafkaWriter, type: TypeNode, value: unknown, ctx: Ctx, nullable: boolean): void => {
  if (value === null && type.kind !== "struct") {
    if (!nullable) throw encodeFault(`null is not allowed in version ${ctx.version}`)
    if (type.kind === "string") return w.string(null, ctx.flexible)
    if (type.kind === "array") return w.arrayLength(null, ctx.flexible)
    if (type.kind === "bytes" || type.kind === "records") return w.byteString(null, ctx.flexible)
    throw encodeFault(`a ${type.kind} cannot be null`)
  }
  switch (type.kind) {
    case "int8":
      return w.int8(num(value))
    case "int16":
      return w.int16(num(value))
    case "uint16":
      return w.uint16(num(value))
    case "int32":
      return w.int32(num(value))
    case "uint32":
      return w.uint32(num(value))
    case "int64":
      return w.int64(expect<bigint>(typeof value === "bigint", value, "a bigint"))
    case "float64":
      return w.float64(num(value))
    case "bool":
      return w.bool(expect<boolean>(typeof value === "boolean", value, "a boolean"))
    case "uuid":
      return w.uuid(bytesOf(value))
    case "string":
      return w.string(expect<string>(typeof value === "string", value, "a string"), ctx.flexible)
    case "bytes":
    case "records":
      return w.byteString(bytesOf(value), ctx.flexible)
    case "array": {
      const items = expect<ReadonlyArray<unknown>>(Array.isArray(value), value, "an array")
      w.arrayLength(items.length, ctx.flexible)
      for (const item of items) writeValue(w, type.element, item, ctx, false)
      return
    }
    case "struct":
      return writeStruct(w, type, expect<Struct>(typeof value === "object" && value !== null, value, "an object"), ctx)
  }
}

export const writeStruct = (w: KafkaWriter, type: StructNode, value: Struct, ctx: Ctx): void => {
  const tagged: Array<RawTaggedField> = []
  for (const f of type.fields) {
    const v = value[f.name]
    if (!inRange(f.versions, ctx.version)) {
      if (!f.ignorable && !valueEqual(v, f.defaultValue)) throw encodeFault(`${type.name}.${f.name} is not in version ${ctx.version} and is not ignorable`)
      continue
    }
    const nullable = inRange(f.nullableVersions, ctx.version)
    if (isTagged(f, ctx)) {
      if (valueEqual(v, f.defaultValue)) continue
      const sub = new KafkaWriter()
      within(f.name, () => writeValue(sub, f.type, v, ctx, nullable))
      tagged.push({ tag: f.tag!, data: sub.finish() })
    } else within(f.name, () => writeValue(w, f.type, v, ctx, nullable))
  }
  if (ctx.flexible) writeTaggedSection(w, [...tagged, ...unknownTags(value)])
}

const unknownTags = (value: Struct): ReadonlyArray<RawTaggedField> => {
  const raw = value.unknownTaggedFields
  return raw === undefined ? [] : expect<ReadonlyArray<RawTaggedField>>(Array.isArray(raw), raw, "an array of raw tagged fields")
}

export const writeTaggedSection = (w: KafkaWriter, fields: ReadonlyArray<RawTaggedField>): void => {
  const sorted = [...fields].sort((a, b) => a.tag - b.tag)
  sorted.forEach((f, i) => {
    if (i > 0 && sorted[i - 1]!.tag === f.tag) throw encodeFault(`tag ${f.tag} written twice`)
  })
  w.uvarint(sorted.length)
  for (const f of sorted) {
    w.uvarint(f.tag)
    w.uvarint(f.data.length)
    w.raw(f.data)
  }
}
