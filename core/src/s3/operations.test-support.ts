/**
 * Calls S3 operations directly, as the handler would after authenticating:
 * a request from method, path, query, headers and body, an unsigned
 * payload, and the user it runs as. Core tests use it to pin an
 * operation's semantics over a real object store without HTTP or SigV4.
 */
import { Effect, Stream } from "effect"
import type { ObjectStore } from "../object/object-api.ts"
import type { OperationContext } from "./context.ts"
import type { DigestShape } from "./digest.ts"
import { parseQuery, type S3Request, type S3Response } from "./request.ts"
import { S3Error } from "./errors.ts"
import type { Users } from "./users.ts"

export interface OperationEnv {
  readonly store: ObjectStore
  readonly users: Users
  readonly digest: DigestShape
}

export interface TestRequest {
  readonly method: string
  /** The path as sent, e.g. "/bucket/key". */
  readonly path: string
  readonly query?: string
  readonly headers?: Record<string, string>
  readonly body?: Uint8Array | string
  /** Who the request runs as (default "alice"). */
  readonly user?: string
  readonly nowMs?: number
  /** The region the node serves (default "us-east-1"). */
  readonly region?: string
}

const encoder = new TextEncoder()

export const operationContext = (env: OperationEnv, r: TestRequest): OperationContext => {
  const body = typeof r.body === "string" ? encoder.encode(r.body) : r.body
  const headers = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const))
  if (body !== undefined && !headers.has("content-length")) headers.set("content-length", String(body.length))
  const request: S3Request = {
    method: r.method,
    rawPath: r.path,
    rawQuery: r.query ?? "",
    headers,
    body: body === undefined ? Stream.empty : Stream.make(body)
  }
  const query = parseQuery(request.rawQuery)
  if (query instanceof S3Error) throw new Error(`bad test query ${r.query}`)
  return { store: env.store, users: env.users, region: r.region ?? "us-east-1", digest: env.digest, request, query, user: r.user ?? "alice", payload: { kind: "unsigned" }, nowMs: r.nowMs ?? 1_800_000_000_000 }
}

/** A response header's value. */
export const headerOf = (response: S3Response, name: string): string | undefined => response.headers.find(([n]) => n === name)?.[1]

/** Runs an operation; a failure comes back as its S3 error code, a success as the response. */
export const outcome = <R>(effect: Effect.Effect<S3Response, S3Error, R>): Effect.Effect<S3Response | string, never, R> =>
  Effect.catch(effect, (e: S3Error) => Effect.succeed(e.code))

const decoder = new TextDecoder()

/** A response body as text (bodies of the operations tested here are small). */
export const bodyText = (response: S3Response): Effect.Effect<string, S3Error> => {
  const body = response.body
  if (body === undefined) return Effect.succeed("")
  if (body instanceof Uint8Array) return Effect.succeed(decoder.decode(body))
  return Effect.map(Stream.runCollect(body), (chunks) => chunks.map((c) => decoder.decode(c, { stream: true })).join("") + decoder.decode())
}
