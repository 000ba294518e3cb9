/**
 * How the console's pages call the node: `fetch` to the same origin (the
 * session cookie goes along by itself), the CSRF token on every change, and
 * every refusal turned into an `ApiError` whose message tells a person what
 * to do. The S3 API answers errors in XML, the console and the admin API in
 * JSON; both end up here.
 */
import { CSRF_HEADER, type ConsoleError } from "../../../runtime-node/src/console/contract.ts"
import { adviceFor } from "./advice.ts"

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

let csrfToken = ""
/** Set on sign-in and on each page load (GET /api/session). */
export const setCsrfToken = (token: string): void => void (csrfToken = token)

/** Told when the server says the session is gone (expired, or the node restarted): the app shows the sign-in page. */
let onSignedOut: (message: string) => void = () => {}
export const whenSignedOut = (f: (message: string) => void): void => void (onSignedOut = f)

const changes = (method: string) => method !== "GET" && method !== "HEAD"

/** The error a refusal's body describes, in words a person can act on. */
export const errorOf = async (res: Response): Promise<ApiError> => {
  const text = await res.text()
  if ((res.headers.get("content-type") ?? "").includes("json")) {
    try {
      const body = JSON.parse(text) as Partial<ConsoleError> & { readonly code?: string }
      const code = body.error ?? body.code ?? `http-${res.status}`
      return new ApiError(res.status, code, adviceFor(code, body.message ?? text, res.status))
    } catch {
      // Not JSON after all: fall through to the text.
    }
  }
  const xml = text.startsWith("<") ? new DOMParser().parseFromString(text, "application/xml") : undefined
  const code = xml?.querySelector("Error > Code")?.textContent
  if (code !== undefined && code !== null) {
    return new ApiError(res.status, code, adviceFor(code, xml?.querySelector("Error > Message")?.textContent ?? code, res.status))
  }
  return new ApiError(res.status, `http-${res.status}`, adviceFor(`http-${res.status}`, text.trim() || res.statusText, res.status))
}

export interface CallOptions {
  readonly body?: BodyInit
  readonly headers?: Record<string, string>
}

/** One request to the console's origin; resolves with a 2xx answer, rejects with an ApiError. */
export const call = async (method: string, path: string, options: CallOptions = {}): Promise<Response> => {
  const headers: Record<string, string> = { ...options.headers }
  if (changes(method)) headers[CSRF_HEADER] = csrfToken
  let res: Response
  try {
    res = await fetch(path, { method, headers, credentials: "same-origin", ...(options.body === undefined ? {} : { body: options.body }) })
  } catch (e) {
    throw new ApiError(0, "network", `the node did not answer (${e instanceof Error ? e.message : String(e)}): check that it is running and reachable, then retry`)
  }
  if (res.ok) return res
  const error = await errorOf(res)
  if (res.status === 401 && (error.code === "session-expired" || error.code === "unauthorized") && !path.startsWith("/api/session")) onSignedOut(error.message)
  throw error
}

/** A JSON answer of the console's or the admin API's routes. */
export const callJson = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
  const res = await call(method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
  return await res.json() as A
}

export const csrfHeader = (): Record<string, string> => ({ [CSRF_HEADER]: csrfToken })
