/**
 * The client protocol between a KV client and a Cairn node, carried over the
 * Network service in the same checksummed frames as Raft's messages (frame
 * kinds 64 and up, so a node tells them apart at once).
 *
 * - A write (any `KvCommand`) travels with its session (clientId, seq) and
 *   goes through the Raft log; the answer is its `KvResult`.
 * - A read (`get` or `range`) is served from the node's state machine after a
 *   ReadIndex barrier (`linearizable`) or at once (`serializable`).
 * - `not-leader` means the command was not accepted (nothing happened); it
 *   names the leader if the node knows it. `unavailable` likewise means
 *   nothing happened (for example no leader confirmed a read in time).
 */
import type { NodeId } from "../node/node-id.ts"
import { RaftDecodeError } from "../codec/decode-error.ts"
import { frame, unframe } from "../codec/frame.ts"
import { Reader } from "../codec/reader.ts"
import { Writer } from "../codec/writer.ts"
import { decodeResult, decodeSessionCommand, encodeResult, encodeSessionCommand, type KvCommand, type KvResult, type SessionCommand } from "./command.ts"

export const CLIENT_REQUEST_KIND = 64
export const CLIENT_RESPONSE_KIND = 65

export type ReadConsistency = "linearizable" | "serializable"

export type ClientRequest =
  | { readonly kind: "write"; readonly requestId: number; readonly command: SessionCommand }
  | {
      readonly kind: "read"
      readonly requestId: number
      readonly consistency: ReadConsistency
      readonly command: Extract<KvCommand, { readonly op: "get" | "range" }>
    }

export type ClientResponse =
  | { readonly kind: "result"; readonly requestId: number; readonly result: KvResult }
  | { readonly kind: "not-leader"; readonly requestId: number; readonly leader: NodeId | undefined }
  | { readonly kind: "unavailable"; readonly requestId: number; readonly reason: string }

export const encodeClientRequest = (request: ClientRequest): Uint8Array => {
  const w = new Writer()
  w.uint(request.requestId)
  if (request.kind === "write") {
    w.u8(0)
    w.raw(encodeSessionCommand(request.command))
  } else {
    w.u8(1)
    w.u8(request.consistency === "linearizable" ? 0 : 1)
    // Reads reuse the session command encoding with an empty session.
    w.raw(encodeSessionCommand({ clientId: "", seq: 0, command: request.command }))
  }
  return frame(CLIENT_REQUEST_KIND, w.finish())
}

export const decodeClientRequest = (r: Reader): ClientRequest => {
  const requestId = r.uint()
  const kind = r.u8()
  if (kind === 0) {
    const command = decodeSessionCommand(r.raw())
    r.done()
    return { kind: "write", requestId, command }
  }
  if (kind !== 1) throw new RaftDecodeError({ message: `unknown client request kind ${kind}` })
  const consistency = r.u8() === 0 ? "linearizable" : "serializable"
  const { command } = decodeSessionCommand(r.raw())
  r.done()
  if (command.op !== "get" && command.op !== "range") throw new RaftDecodeError({ message: `a read cannot be ${command.op}` })
  return { kind: "read", requestId, consistency, command }
}

export const encodeClientResponse = (response: ClientResponse): Uint8Array => {
  const w = new Writer()
  w.uint(response.requestId)
  switch (response.kind) {
    case "result":
      w.u8(0)
      w.raw(encodeResult(response.result))
      break
    case "not-leader":
      w.u8(1)
      w.string(response.leader ?? "")
      break
    case "unavailable":
      w.u8(2)
      w.string(response.reason)
      break
  }
  return frame(CLIENT_RESPONSE_KIND, w.finish())
}

export const decodeClientResponse = (r: Reader): ClientResponse => {
  const requestId = r.uint()
  const kind = r.u8()
  let response: ClientResponse
  if (kind === 0) response = { kind: "result", requestId, result: decodeResult(r.raw()) }
  else if (kind === 1) {
    const leader = r.string()
    response = { kind: "not-leader", requestId, leader: leader === "" ? undefined : (leader as NodeId) }
  } else if (kind === 2) response = { kind: "unavailable", requestId, reason: r.string() }
  else throw new RaftDecodeError({ message: `unknown client response kind ${kind}` })
  r.done()
  return response
}

/** Decodes a frame as a client response, or undefined if it is something else or damaged. */
export const parseClientResponse = (bytes: Uint8Array): ClientResponse | undefined => {
  try {
    const { kind, body } = unframe(bytes)
    return kind === CLIENT_RESPONSE_KIND ? decodeClientResponse(body) : undefined
  } catch {
    return undefined
  }
}
