/**
 * The check Node lacks: a request body that trickles in slower than
 * `minBodyBytesPerSecond`, judged over windows of `headerTimeoutMs`, is cut
 * (slowloris on the body, which Node's `headersTimeout` does not cover and
 * its `requestTimeout` covers only as a whole-request deadline, which a
 * large upload cannot have). The rate is only judged while the server is
 * waiting for the body (its buffer empty), so a server slow to consume
 * never blames the client.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import type { OverloadLimits } from "./limits.ts"

/** Watches `req`'s body until it ends or the response closes; calls `tooSlow` once if it trickles. */
export const watchBodyRate = (
  limits: Pick<OverloadLimits, "minBodyBytesPerSecond" | "headerTimeoutMs">,
  req: IncomingMessage,
  res: ServerResponse,
  tooSlow: () => void
): void => {
  if (req.complete || (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined)) return
  const socket: Socket = req.socket
  const floor = (limits.minBodyBytesPerSecond * limits.headerTimeoutMs) / 1000
  let seen = socket.bytesRead
  const timer = setInterval(() => {
    const now = socket.bytesRead
    const waiting = req.readableLength === 0
    if (!req.complete && waiting && now - seen < floor) {
      clearInterval(timer)
      tooSlow()
      return
    }
    seen = now
  }, limits.headerTimeoutMs)
  timer.unref()
  const stop = () => clearInterval(timer)
  req.once("end", stop)
  res.once("close", stop)
}
