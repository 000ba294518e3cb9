/**
 * Forwarding one browser request to this node's own S3 or KV API listener
 * over loopback, streaming both ways (a 20 MB upload is never held whole):
 * the request body is piped up as it arrives, the answer piped back as it
 * comes. The caller adds the credentials (SigV4 for S3, Basic for the KV
 * API); this file only moves bytes and says clearly when the listener could
 * not be reached.
 *
 * When a listener serves HTTPS with its own certificate, the connection
 * trusts exactly that certificate (by its SHA-256 fingerprint) and nothing
 * else: it is this process's own listener, whatever name the certificate
 * carries.
 */
import { X509Certificate } from "node:crypto"
import { type ClientRequest, type IncomingMessage, request as httpRequest, type ServerResponse } from "node:http"
import { request as httpsRequest } from "node:https"
import type { PeerCertificate } from "node:tls"

export interface Upstream {
  /** `http://host:port` or `https://host:port` of the listener. */
  readonly origin: string
  /** The listener's certificate (PEM), when it serves HTTPS. */
  readonly certificate?: Buffer
}

/** The listener's address as a client reaches it: a wildcard bind is reached on loopback. */
export const loopbackOrigin = (scheme: "http" | "https", address: { readonly host: string; readonly port: number }): string => {
  const host = address.host === "0.0.0.0" ? "127.0.0.1" : address.host === "::" ? "::1" : address.host
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${address.port}`
}

/** Response headers that describe this hop, not the answer. */
const hopHeaders = new Set(["connection", "keep-alive", "transfer-encoding", "set-cookie", "upgrade", "proxy-authenticate", "trailer"])

export interface ForwardRequest {
  readonly upstream: Upstream
  readonly method: string
  /** Path and query to ask for, already in the listener's terms. */
  readonly target: string
  readonly headers: Record<string, string>
  /** The browser's body, piped up; undefined for none. */
  readonly body: IncomingMessage | undefined
  /** Extra headers for the answer (security headers, a download's disposition). */
  readonly answerHeaders?: (status: number) => Record<string, string>
  /** Told when the listener could not be reached or the exchange broke before an answer. */
  readonly onUnreachable: (message: string) => void
}

const pinnedCheck = (certificate: Buffer) => {
  const expected = new X509Certificate(certificate).fingerprint256
  return (_host: string, cert: PeerCertificate): Error | undefined =>
    cert.fingerprint256 === expected ? undefined : new Error("the listener presented a certificate other than this node's own")
}

const open = (forward: ForwardRequest, onAnswer: (answer: IncomingMessage) => void): ClientRequest => {
  const url = new URL(forward.target, forward.upstream.origin)
  const options = { method: forward.method, headers: forward.headers }
  const cert = forward.upstream.certificate
  if (url.protocol === "https:") {
    // rejectUnauthorized stays on: the certificate itself is the only trust anchor (a partial chain, so a leaf
    // issued by any CA will do), and the pinned check replaces the name check.
    return httpsRequest(url, { ...options, ...(cert === undefined ? {} : { ca: cert, allowPartialTrustChain: true, checkServerIdentity: pinnedCheck(cert) }) }, onAnswer)
  }
  return httpRequest(url, options, onAnswer)
}

/** Sends the request up and the answer back to `res`. */
export const forward = (forwardRequest: ForwardRequest, res: ServerResponse): void => {
  let answered = false
  const upstream = open(forwardRequest, (answer) => {
    answered = true
    const headers: Record<string, string | Array<string>> = {}
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !hopHeaders.has(name)) headers[name] = value
    const status = answer.statusCode ?? 502
    res.writeHead(status, { ...headers, ...forwardRequest.answerHeaders?.(status) })
    answer.pipe(res)
    answer.on("error", () => res.destroy())
  })
  upstream.on("error", (e) => {
    if (!answered && !res.headersSent) forwardRequest.onUnreachable(`this node's ${new URL(forwardRequest.upstream.origin).host} listener did not answer: ${e.message}`)
    else res.destroy()
  })
  // The browser went away (a cancelled upload): stop the upstream request too, so nothing half-written commits.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy()
  })
  if (forwardRequest.body === undefined) upstream.end()
  else forwardRequest.body.pipe(upstream)
}

/** A small exchange with a listener: its status, headers and text, within 5 s. */
export const exchangeText = (
  upstream: Upstream,
  request: { readonly method: string; readonly target: string; readonly headers: Record<string, string>; readonly body?: string }
): Promise<{ readonly status: number; readonly headers: IncomingMessage["headers"]; readonly text: string }> =>
  new Promise((resolve, reject) => {
    const req = open({ upstream, method: request.method, target: request.target, headers: request.headers, body: undefined, onUnreachable: () => {} }, (answer) => {
      const chunks: Array<Buffer> = []
      answer.on("data", (c: Buffer) => chunks.push(c))
      answer.on("error", reject)
      answer.on("end", () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, text: Buffer.concat(chunks).toString("utf8") }))
    })
    req.setTimeout(5000, () => req.destroy(new Error("no answer within 5 s")))
    req.on("error", reject)
    req.end(request.body)
  })

/** A small answer of a listener (the member list, /metrics): its status and text, within 5 s. */
export const fetchText = async (upstream: Upstream, target: string, headers: Record<string, string>): Promise<{ readonly status: number; readonly text: string }> => {
  const { status, text } = await exchangeText(upstream, { method: "GET", target, headers })
  return { status, text }
}

/** A small JSON answer of a listener: its status and parsed body (a body that is not JSON becomes an upstream error). */
export const fetchJson = async (upstream: Upstream, target: string, headers: Record<string, string>): Promise<{ readonly status: number; readonly body: unknown }> => {
  const { status, text } = await fetchText(upstream, target, headers)
  try {
    return { status, body: JSON.parse(text) as unknown }
  } catch {
    return { status, body: { error: "upstream", message: text.slice(0, 500) } }
  }
}
