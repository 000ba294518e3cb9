/**
 * Cairn's declarative form of Kafka's message definitions. A message is a
 * struct of named fields, each with a type, the versions it exists in, the
 * versions in which it may be null, and, for tagged fields, a tag and the
 * versions in which it travels in the tagged section; structs nest, arrays
 * hold primitives or structs. `codec.ts` interprets a schema for one
 * version; the TypeScript type of a message follows from its schema
 * (`Infer`), so a message file is data and its type at once.
 *
 * Value types: int8/16/32, uint16/32 and float64 are numbers, int64 is a
 * bigint (Kafka's offsets, ids and timestamps use the whole range), uuid is
 * 16 bytes, bytes and records are `Uint8Array` (records stay opaque: the
 * RecordBatch inside is `log/record-batch.ts`'s business).
 */
import { versions, NO_VERSIONS, type VersionRange } from "./versions.ts"

export type PrimitiveKind =
  | "int8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "float64" | "bool" | "uuid" | "string" | "bytes" | "records"

export type TypeNode =
  | { readonly kind: PrimitiveKind }
  | { readonly kind: "array"; readonly element: TypeNode }
  | { readonly kind: "struct"; readonly name: string; readonly fields: ReadonlyArray<FieldNode> }

export interface FieldNode {
  readonly name: string
  readonly type: TypeNode
  readonly versions: VersionRange
  readonly nullableVersions: VersionRange
  /** The tag, for a field that travels in the tagged section in `taggedVersions`. */
  readonly tag: number | undefined
  readonly taggedVersions: VersionRange
  /** A non-default value may be dropped when encoding a version that lacks the field. */
  readonly ignorable: boolean
  /** The value a decoder gives a field its version lacks; a tagged field equal to it is not written. */
  readonly defaultValue: unknown
}

/** A tagged field the schema does not know: kept as bytes so a re-encode preserves it, as Kafka's own classes do. */
export interface RawTaggedField {
  readonly tag: number
  readonly data: Uint8Array
}

/** The phantom `__value` carries the TypeScript type a node decodes to. */
export interface Type<T> {
  readonly node: TypeNode
  readonly __value?: T
}

export interface Field<T> {
  readonly build: (name: string) => FieldNode
  readonly __value?: T
}

export type Fields = Readonly<Record<string, Field<unknown>>>

export type StructValue<F extends Fields> = { readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never } & {
  readonly unknownTaggedFields?: ReadonlyArray<RawTaggedField>
}

export type Infer<S> = S extends Type<infer T> ? T : S extends MessageSchema<infer T> ? T : never

const primitive = <T>(kind: PrimitiveKind): Type<T> => ({ node: { kind } })

export const int8: Type<number> = primitive("int8")
export const int16: Type<number> = primitive("int16")
export const uint16: Type<number> = primitive("uint16")
export const int32: Type<number> = primitive("int32")
export const uint32: Type<number> = primitive("uint32")
export const int64: Type<bigint> = primitive("int64")
export const float64: Type<number> = primitive("float64")
export const bool: Type<boolean> = primitive("bool")
export const uuid: Type<Uint8Array> = primitive("uuid")
export const string: Type<string> = primitive("string")
export const bytes: Type<Uint8Array> = primitive("bytes")
/** Kafka's `records`: bytes holding RecordBatches, carried opaque. */
export const records: Type<Uint8Array> = primitive("records")

export const array = <T>(element: Type<T>): Type<ReadonlyArray<T>> => ({ node: { kind: "array", element: element.node } })

export const struct = <F extends Fields>(name: string, fields: F): Type<StructValue<F>> => ({
  node: { kind: "struct", name, fields: Object.entries(fields).map(([key, f]) => f.build(key)) }
})

export interface FieldOptions<T> {
  readonly default?: T
  readonly ignorable?: boolean
  readonly tag?: number
  readonly taggedVersions?: string
}

const build = (type: TypeNode, versionSpec: string, nullableSpec: string, options: FieldOptions<unknown>) => (name: string): FieldNode => ({
  name,
  type,
  versions: versions(versionSpec),
  nullableVersions: versions(nullableSpec),
  tag: options.tag,
  taggedVersions: options.taggedVersions === undefined ? NO_VERSIONS : versions(options.taggedVersions),
  ignorable: options.ignorable ?? false,
  defaultValue: "default" in options ? options.default : defaultOf(type)
})

/** A field present in `versionSpec` (e.g. "0+", "3-7"), never null. */
export const field = <T>(type: Type<T>, versionSpec: string, options: FieldOptions<T> = {}): Field<T> => ({
  build: build(type.node, versionSpec, "none", options)
})

/** A field that may be null in `nullableSpec`. */
export const nullable = <T>(type: Type<T>, versionSpec: string, nullableSpec: string, options: FieldOptions<T | null> = {}): Field<T | null> => ({
  build: build(type.node, versionSpec, nullableSpec, options)
})

/** The value Kafka gives a field with no explicit default. */
export const defaultOf = (type: TypeNode): unknown => {
  switch (type.kind) {
    case "int64":
      return 0n
    case "bool":
      return false
    case "uuid":
      return new Uint8Array(16)
    case "string":
      return ""
    case "bytes":
    case "records":
      return new Uint8Array(0)
    case "array":
      return []
    case "struct":
      return Object.fromEntries(type.fields.map((f) => [f.name, f.defaultValue]))
    default:
      return 0
  }
}

export interface MessageSchema<T> {
  readonly name: string
  readonly apiKey: number
  readonly validVersions: VersionRange
  readonly flexibleVersions: VersionRange
  readonly body: Type<T>
}

export interface MessageSpec<F extends Fields> {
  readonly name: string
  readonly apiKey: number
  readonly validVersions: string
  readonly flexibleVersions: string
  readonly fields: F
}

export const message = <F extends Fields>(spec: MessageSpec<F>): MessageSchema<StructValue<F>> => ({
  name: spec.name,
  apiKey: spec.apiKey,
  validVersions: versions(spec.validVersions),
  flexibleVersions: versions(spec.flexibleVersions),
  body: struct(spec.name, spec.fields)
})
