/**
 * The PEM files of the KV API's HTTPS (`--api-tls-cert/--api-tls-key`) and
 * of mutual TLS between peers (`--peer-tls-cert/--peer-tls-key/
 * --peer-tls-ca`), read once at start and checked by building a TLS context
 * from them: a missing file, a file that is not PEM or a key that does not
 * match its certificate stops the server with a message naming the flag,
 * rather than failing every connection later.
 */
import { Data, Effect } from "effect"
import { readFileSync } from "node:fs"
import { createSecureContext } from "node:tls"
import type { PeerTls } from "../network/tcp-network.ts"

export class TlsFilesError extends Data.TaggedError("TlsFilesError")<{ readonly message: string }> {}

const read = (flag: string, path: string): Effect.Effect<Buffer, TlsFilesError> =>
  Effect.try({
    try: () => readFileSync(path),
    catch: (e) => new TlsFilesError({ message: `${flag} ${path}: cannot read it (${(e as Error).message})` })
  })

const check = (flags: string, material: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer }): Effect.Effect<void, TlsFilesError> =>
  Effect.try({
    try: () => void createSecureContext(material),
    catch: (e) => new TlsFilesError({ message: `${flags}: not a usable PEM certificate and key (${(e as Error).message})` })
  })

/** The KV API's certificate and key. */
export const readApiTls = (paths: { readonly certPath: string; readonly keyPath: string }): Effect.Effect<{ readonly cert: Buffer; readonly key: Buffer }, TlsFilesError> =>
  Effect.gen(function*() {
    const cert = yield* read("--api-tls-cert", paths.certPath)
    const key = yield* read("--api-tls-key", paths.keyPath)
    yield* check("--api-tls-cert/--api-tls-key", { cert, key })
    return { cert, key }
  })

/** This node's peer certificate and key, and the CA every peer's must chain to. */
export const readPeerTls = (paths: { readonly certPath: string; readonly keyPath: string; readonly caPath: string }): Effect.Effect<PeerTls, TlsFilesError> =>
  Effect.gen(function*() {
    const cert = yield* read("--peer-tls-cert", paths.certPath)
    const key = yield* read("--peer-tls-key", paths.keyPath)
    const ca = yield* read("--peer-tls-ca", paths.caPath)
    if (!ca.toString("utf8").includes("-----BEGIN CERTIFICATE-----")) return yield* new TlsFilesError({ message: `--peer-tls-ca ${paths.caPath}: holds no PEM certificate` })
    yield* check("--peer-tls-cert/--peer-tls-key/--peer-tls-ca", { cert, key, ca })
    return { cert, key, ca }
  })
