/**
 * The console listener's own answers: JSON bodies, the refusals every route
 * shares, the headers every answer carries, and the session cookie.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { ConsoleError } from "./contract.ts"

/**
 * On every answer. The page loads only its own scripts and styles (no CDN,
 * no inline script), may not be framed, and sends no referrer.
 */
export const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
}

/**
 * On every forwarded S3 answer: an object's bytes must never run as a page
 * of the console's origin (an uploaded HTML file would otherwise reach the
 * session), so they are sandboxed and never sniffed.
 */
export const forwardedHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": "sandbox; default-src 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer"
}

export const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...securityHeaders, "content-type": "application/json", "cache-control": "no-store", "content-length": String(Buffer.byteLength(text)), ...headers })
  res.end(text)
}

export const refuse = (res: ServerResponse, status: number, error: ConsoleError["error"], message: string): void => json(res, status, { error, message } satisfies ConsoleError)

/** The cookie's name: with TLS, `__Host-` makes browsers insist on Secure, Path=/ and no Domain. */
export const cookieName = (tls: boolean): string => (tls ? "__Host-cairn-console" : "cairn-console")

export const sessionCookie = (tls: boolean, id: string, maxAgeSeconds: number): string =>
  `${cookieName(tls)}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${tls ? "; Secure" : ""}`

export const clearedCookie = (tls: boolean): string => `${cookieName(tls)}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${tls ? "; Secure" : ""}`

/** The session id the browser sent, if any. */
export const sessionIdOf = (req: IncomingMessage, tls: boolean): string | undefined => {
  const name = cookieName(tls)
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=")
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** A small request body (sign-in JSON), refused past `limit` bytes. */
export const readSmallBody = (req: IncomingMessage, limit: number): Promise<string | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        resolve(undefined)
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })
