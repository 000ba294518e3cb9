/** Free TCP ports on 127.0.0.1, found by binding port 0 and releasing it (for tests, benches and local clusters). */
import { createServer } from "node:net"

export const freeLoopbackPorts = async (n: number): Promise<Array<number>> => {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve) => {
        const s = createServer()
        s.listen(0, "127.0.0.1", () => resolve(s))
      })
    )
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}
