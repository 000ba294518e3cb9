/**
 * HTTP exchanges for the overload tests: a request on its own connection
 * whose body the test may hold back or trickle, a raw connection that
 * records what it received and when it closed, and a wait for a condition
 * on the event loop (never a duration asserted).
 */
import { request as httpRequest, type IncomingMessage } from "node:http"
import { connect, type Socket } from "node:net"

/** Polls (on the event loop, not a clock assertion) until `ready` holds. */
export const until = async (ready: () => boolean | Promise<boolean>): Promise<void> => {
  while (!(await ready())) await new Promise((r) => setTimeout(r, 5))
}

export interface Answer {
  readonly status: number
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}

/** An HTTP exchange on its own connection; the body is written by `send` (which may hold it back or trickle it). */
export const exchange = (
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  send?: (write: (chunk: string) => boolean, end: () => void) => void
) =>
  new Promise<Answer>((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      let body = ""
      res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on("error", reject)
    if (send === undefined) req.end()
    else send((c) => req.write(c), () => req.end())
  })

/** A raw connection: what it received, and promises of its connect and close. */
export const raw = (port: number) => {
  const socket: Socket = connect(port, "127.0.0.1")
  const seen = { data: "" }
  socket.setEncoding("utf8").on("data", (c: string) => (seen.data += c)).on("error", () => {})
  const closed = new Promise<void>((r) => socket.once("close", () => r()))
  const connected = new Promise<void>((r) => socket.once("connect", () => r()))
  return { socket, seen, closed, connected }
}

/** Writes one byte of the body per tick until stopped: a client far below any sane rate. */
export const trickle = (write: (chunk: string) => boolean) => {
  const timer = setInterval(() => write("x"), 50)
  return () => clearInterval(timer)
}
