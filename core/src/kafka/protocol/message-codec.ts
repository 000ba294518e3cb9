/**
 * Encoding and decoding of one message body in one version, with the
 * errors returned as values: a decoder consumes exactly the bytes it is
 * given (left-over bytes are a fault), an encoder refuses values the
 * version cannot carry.
 */
import { Result } from "effect"
import { assert } from "../../invariant/invariant.ts"
import { readStruct, writeStruct, type Ctx } from "./codec.ts"
import { KafkaDecodeError, KafkaEncodeError } from "./errors.ts"
import { defaultDecodeLimits, type DecodeLimits } from "./limits.ts"
import { decodeFault, KafkaReader } from "./reader.ts"
import type { MessageSchema, TypeNode } from "./schema.ts"
import { inRange } from "./versions.ts"
import { KafkaWriter } from "./writer.ts"

export const isFlexible = <T>(schema: MessageSchema<T>, version: number): boolean => inRange(schema.flexibleVersions, version)

const structOf = <T>(schema: MessageSchema<T>): Extract<TypeNode, { kind: "struct" }> => {
  const node = schema.body.node
  assert(node.kind === "struct", `${schema.name} is not a struct`)
  return node
}

const ctxOf = <T>(schema: MessageSchema<T>, version: number): Ctx => {
  assert(inRange(schema.validVersions, version), () => `${schema.name} has no version ${version}`)
  return { version, flexible: isFlexible(schema, version) }
}

/** Writes `value` as `schema` in `version`; throws `KafkaEncodeError` (callers below turn it into a value). */
export const writeMessage = <T>(w: KafkaWriter, schema: MessageSchema<T>, version: number, value: T): void =>
  writeStruct(w, structOf(schema), value as Readonly<Record<string, unknown>>, ctxOf(schema, version))

/** Reads `schema` in `version` from `r`; throws `KafkaDecodeError`. */
export const readMessage = <T>(r: KafkaReader, schema: MessageSchema<T>, version: number): T =>
  // The schema's phantom type is what the interpreter builds for it.
  readStruct(r, structOf(schema), ctxOf(schema, version)) as T

export const encodeMessage = <T>(schema: MessageSchema<T>, version: number, value: T): Result.Result<Uint8Array, KafkaEncodeError> =>
  catchingEncode(() => {
    const w = new KafkaWriter()
    writeMessage(w, schema, version, value)
    return w.finish()
  })

export const catchingEncode = <A>(body: () => A): Result.Result<A, KafkaEncodeError> => {
  try {
    return Result.succeed(body())
  } catch (error) {
    if (error instanceof KafkaEncodeError) return Result.fail(error)
    throw error
  }
}

export const catchingDecode = <A>(body: () => A): Result.Result<A, KafkaDecodeError> => {
  try {
    return Result.succeed(body())
  } catch (error) {
    if (error instanceof KafkaDecodeError) return Result.fail(error)
    throw error
  }
}

/** Throws `trailing-bytes` unless `r` is used up. */
export const expectEnd = (r: KafkaReader, what: string): void => {
  if (r.remaining() !== 0) throw decodeFault("trailing-bytes", `${r.remaining()} bytes after the end of ${what}`)
}

export const decodeMessage = <T>(
  schema: MessageSchema<T>,
  version: number,
  bytes: Uint8Array,
  limits: DecodeLimits = defaultDecodeLimits
): Result.Result<T, KafkaDecodeError> =>
  catchingDecode(() => {
    const r = new KafkaReader(bytes, limits)
    const value = readMessage(r, schema, version)
    expectEnd(r, schema.name)
    return value
  })
