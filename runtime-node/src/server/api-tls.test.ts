/**
 * HTTPS on the KV API (`--api-tls-cert/--api-tls-key`): one `cairn server`
 * in this process with a certificate from a CA made by openssl in the test.
 * It presents that certificate, answers authenticated requests over https,
 * and a plain-HTTP client gets nothing; `cairn cluster`'s request helper
 * reaches it with `--ca` and not without; unusable TLS files stop the
 * server with exit code 2 naming the flag.
 */
import { Effect, Exit, Fiber, Option } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { X509Certificate } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect as tlsConnect } from "node:tls"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call } from "../cli/cluster-command.ts"
import { type CertFiles, makeTestPki, type TestPki } from "../network/test-certs.test-support.ts"
import { apiHeaders } from "./api-credentials.ts"
import { rawFromFlags, resolveConfig, type ServerConfig, ServerConfigError } from "./config.ts"
import { setLogSink } from "../log/log.ts"
import { runServer, ServerStartError } from "./server.ts"

const CREDENTIALS = { accessKey: "admin-key", secretKey: "admin-secret-123" }
let dir = ""
let pki: TestPki & { readonly rogue: CertFiles }
let fiber: Fiber.Fiber<void, unknown> | undefined
let port = 0

const configWith = (flags: Record<string, string>): ServerConfig => {
  const config = resolveConfig(rawFromFlags({ dataDir: mkdtempSync(join(dir, "data-")), apiListen: "127.0.0.1:0", peerListen: "127.0.0.1:0", s3Listen: "127.0.0.1:0", ...CREDENTIALS, ...flags }))
  if (config instanceof ServerConfigError) throw new Error(config.message)
  return config
}

beforeAll(async () => {
  setLogSink(() => {})
  dir = mkdtempSync(join(tmpdir(), "cairn-api-tls-"))
  pki = makeTestPki(dir, ["api"])
  const config = configWith({ apiTlsCert: pki.nodes.api!.cert, apiTlsKey: pki.nodes.api!.key })
  port = await new Promise<number>((resolve) => {
    fiber = Effect.runFork(runServer(config, ({ apiAddress }) => resolve(apiAddress.port)))
  })
})

afterAll(async () => {
  if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
  rmSync(dir, { recursive: true, force: true })
})

const flags = (ca: string | undefined) => ({
  endpoint: `https://127.0.0.1:${port}`,
  accessKey: Option.some(CREDENTIALS.accessKey),
  secretKey: Option.some(CREDENTIALS.secretKey),
  credentials: Option.none(),
  ca: ca === undefined ? Option.none() : Option.some(ca)
})

describe("HTTPS on the KV API", () => {
  it("presents the configured certificate", async () => {
    const presented = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: "127.0.0.1", port, ca: readFileSync(pki.ca) }, () => {
        resolve(socket.getPeerCertificate().fingerprint256)
        socket.end()
      })
      socket.on("error", reject)
    })
    expect(presented).toBe(new X509Certificate(readFileSync(pki.nodes.api!.cert)).fingerprint256)
  })

  // Runs before anything trusts the test CA in this process.
  it("cairn cluster reaches an https endpoint with --ca, and refuses one it cannot verify without it", async () => {
    const untrusted = await Effect.runPromise(Effect.result(call(flags(undefined), "GET", "/v1/admin/members")))
    expect(untrusted._tag === "Failure" && untrusted.failure.message).toMatch(/cannot reach https:.*certificate/)
    const trusted = await Effect.runPromise(Effect.result(call(flags(pki.ca), "GET", "/v1/admin/members")))
    expect(trusted._tag).toBe("Success")
  })

  it("serves authenticated requests over https, refuses unauthenticated ones, and gives a plain-HTTP client nothing", async () => {
    const base = `https://127.0.0.1:${port}`
    for (;;) {
      if ((await fetch(`${base}/ready`)).status === 200) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect((await fetch(`${base}/v1/kv/secure`, { method: "PUT", body: "over tls", headers: apiHeaders(CREDENTIALS) })).status).toBe(200)
    const read = await fetch(`${base}/v1/kv/secure`, { headers: apiHeaders(CREDENTIALS) })
    expect([read.status, await read.text()]).toEqual([200, "over tls"])
    expect((await fetch(`${base}/v1/kv/secure`)).status).toBe(401)
    await expect(fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow()
  })

  it("stops with exit code 2 when a TLS file is missing or the key is not the certificate's", async () => {
    const failure = async (config: ServerConfig) => {
      const exit = await Effect.runPromise(Effect.exit(runServer(config)))
      if (!Exit.isFailure(exit)) throw new Error("expected the server to fail")
      const error = exit.cause.reasons.find((r) => r._tag === "Fail")
      if (error === undefined || !(error.error instanceof ServerStartError)) throw new Error(`unexpected ${String(exit.cause)}`)
      return error.error
    }
    const missing = await failure(configWith({ apiTlsCert: join(dir, "nope.pem"), apiTlsKey: pki.nodes.api!.key }))
    expect([missing.exitCode, missing.message]).toEqual([2, expect.stringMatching(/^--api-tls-cert .*nope\.pem: cannot read it/)])
    const mismatched = await failure(configWith({ apiTlsCert: pki.nodes.api!.cert, apiTlsKey: pki.rogue.key }))
    expect([mismatched.exitCode, mismatched.message]).toEqual([2, expect.stringMatching(/^--api-tls-cert\/--api-tls-key: not a usable/)])
    const peer = await failure(configWith({ peerTlsCert: pki.nodes.api!.cert, peerTlsKey: pki.nodes.api!.key, peerTlsCa: pki.nodes.api!.key }))
    expect([peer.exitCode, peer.message]).toEqual([2, expect.stringMatching(/^--peer-tls-ca .*: holds no PEM certificate/)])
  })
})
