import { Clock, Disk, Network, nodeId, Random } from "@cairn/core"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import { NodeServicesLive } from "./index.ts"

const freePort = () =>
  new Promise<number>((ok) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => ok(port))
    })
  })

it("NodeServicesLive provides all four services for one node, and they work together", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-node-"))
  const port = await freePort()
  const layer = NodeServicesLive({ dataDir, nodeId: nodeId("n1"), peers: [`n1=127.0.0.1:${port}`], secret: "s" })
  try {
    const out = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const disk = yield* Disk
          const net = yield* Network
          const clock = yield* Clock
          const random = yield* Random
          const f = yield* disk.open("node/id", "create")
          yield* f.write(0, new TextEncoder().encode("n1"))
          yield* f.sync
          yield* f.close
          yield* net.send(net.self, new Uint8Array([yield* random.nextIntBetween(1, 9)]))
          const got = yield* net.receive
          return { got: got.payload[0]!, t: yield* clock.monotonicMs, files: yield* disk.list("node") }
        })
      ).pipe(Effect.provide(Layer.fresh(layer)))
    )
    expect(out.got >= 1 && out.got <= 9).toBe(true)
    expect(out.t).toBeGreaterThan(0)
    expect(out.files).toEqual(["id"])
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})
