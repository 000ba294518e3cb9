/**
 * fast-check arbitraries derived from a message schema for one version:
 * every field the version has gets a random value of its type (null where
 * the version allows it), every field it lacks gets its default — exactly
 * what a decoder returns — so `decode(encode(v))` must equal `v`. Flexible
 * versions also get unknown tagged fields (tags 100+, unused by any
 * schema) on the top-level struct, which the codec must carry through.
 */
import fc from "fast-check"
import type { Ctx } from "./codec.ts"
import { isFlexible } from "./message-codec.ts"
import type { FieldNode, MessageSchema, RawTaggedField, TypeNode } from "./schema.ts"
import { inRange } from "./versions.ts"

const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int8: [-0x80, 0x7f],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint32: [0, 0xffff_ffff]
}

const valueOf = (type: TypeNode, ctx: Ctx): fc.Arbitrary<unknown> => {
  switch (type.kind) {
    case "int64":
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    case "float64":
      return fc.double({ noNaN: true })
    case "bool":
      return fc.boolean()
    case "uuid":
      return fc.uint8Array({ minLength: 16, maxLength: 16 })
    case "string":
      return fc.string({ maxLength: 12, unit: "grapheme" })
    case "bytes":
    case "records":
      return fc.uint8Array({ maxLength: 24 })
    case "array":
      return fc.array(valueOf(type.element, ctx), { maxLength: 3 })
    case "struct":
      return structOf(type.fields, ctx, false)
    default: {
      const [min, max] = INT_RANGES[type.kind]!
      return fc.integer({ min, max })
    }
  }
}

const fieldOf = (f: FieldNode, ctx: Ctx): fc.Arbitrary<unknown> => {
  if (!inRange(f.versions, ctx.version)) return fc.constant(f.defaultValue)
  const value = valueOf(f.type, ctx)
  return inRange(f.nullableVersions, ctx.version) ? fc.option(value, { nil: null }) : value
}

const unknownTags: fc.Arbitrary<ReadonlyArray<RawTaggedField>> = fc.uniqueArray(
  fc.record({ tag: fc.integer({ min: 100, max: 10_000 }), data: fc.uint8Array({ maxLength: 8 }) }),
  { maxLength: 2, selector: (t) => t.tag }
).map((tags) => [...tags].sort((a, b) => a.tag - b.tag)) // the wire order, which decoding keeps

const structOf = (fields: ReadonlyArray<FieldNode>, ctx: Ctx, withUnknownTags: boolean): fc.Arbitrary<Record<string, unknown>> => {
  const known = fc.record(Object.fromEntries(fields.map((f) => [f.name, fieldOf(f, ctx)])))
  if (!withUnknownTags) return known
  return fc.tuple(known, unknownTags).map(([value, tags]) => (tags.length > 0 ? { ...value, unknownTaggedFields: tags } : value))
}

/** Values of `schema` in `version`, as the decoder would return them. */
export const arbitraryMessage = <T>(schema: MessageSchema<T>, version: number): fc.Arbitrary<T> => {
  const ctx = { version, flexible: isFlexible(schema, version) }
  const node = schema.body.node
  if (node.kind !== "struct") throw new Error(`${schema.name} is not a struct`)
  // The arbitrary builds exactly the shape the schema's type describes.
  return structOf(node.fields, ctx, ctx.flexible) as fc.Arbitrary<unknown> as fc.Arbitrary<T>
}
