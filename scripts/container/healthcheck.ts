/**
 * The image's HEALTHCHECK (Containerfile): GET /ready on this node's KV HTTP
 * API. Exit 0 when it answers 200 (the node knows a leader and has applied
 * what it knows is committed), 1 otherwise, with one line saying why: the
 * container runtime shows it in `podman inspect` / `docker inspect`.
 */
import { request as httpRequest } from "node:http"
import { request as httpsRequest } from "node:https"
import { ServerConfigError } from "@cairn/runtime-node/server/config"
import { readyTarget } from "./ready-url.ts"

const target = readyTarget(process.env)
if (target instanceof ServerConfigError) {
  process.stdout.write(`unhealthy: ${target.message}\n`)
  process.exit(1)
}
const request = target.tls ? httpsRequest : httpRequest
const req = request(target.url, { timeout: 4000, rejectUnauthorized: false }, (res) => {
  const chunks: Array<Buffer> = []
  res.on("data", (c: Buffer) => chunks.push(c))
  res.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8").trim()
    process.stdout.write(`${res.statusCode === 200 ? "ready" : "not ready"}: ${target.url} ${res.statusCode} ${body}\n`)
    process.exit(res.statusCode === 200 ? 0 : 1)
  })
})
req.on("timeout", () => req.destroy(new Error("no answer within 4 s")))
req.on("error", (e) => {
  process.stdout.write(`unhealthy: ${target.url}: ${e.message}\n`)
  process.exit(1)
})
req.end()
