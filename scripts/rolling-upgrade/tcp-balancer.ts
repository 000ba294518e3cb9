/**
 * A TCP load balancer for the rolling-upgrade test, standing in for what
 * S3 users put in front of a cluster (HAProxy, a Kubernetes Service): each
 * new connection goes to the next backend in turn, and to the one after it
 * when a backend refuses the connection (a node that is restarting). A
 * connection already open to a node that goes away is closed, as a real
 * balancer's would be; the client sees the reset and retries.
 */
import { connect, createServer, type Server, type Socket } from "node:net"

export interface Balancer {
  readonly port: number
  /** Connections opened to each backend port so far. */
  readonly connections: ReadonlyMap<number, number>
  readonly close: () => Promise<void>
}

const pipeTo = (client: Socket, ports: ReadonlyArray<number>, first: number, counts: Map<number, number>): void => {
  const attempt = (i: number) => {
    const port = ports[(first + i) % ports.length]!
    const upstream = connect(port, "127.0.0.1")
    let connected = false
    upstream.once("connect", () => {
      connected = true
      counts.set(port, (counts.get(port) ?? 0) + 1)
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
    upstream.on("error", () => {
      if (!connected && i + 1 < ports.length) attempt(i + 1)
      else client.destroy()
    })
    upstream.on("close", () => {
      if (connected) client.destroy()
    })
    client.on("close", () => upstream.destroy())
  }
  client.on("error", () => client.destroy())
  client.pause()
  attempt(0)
}

/** Listens on a free loopback port and balances over `ports`. */
export const startBalancer = (ports: ReadonlyArray<number>): Promise<Balancer> => {
  const counts = new Map<number, number>()
  let next = 0
  const open = new Set<Socket>()
  const server: Server = createServer((client) => {
    open.add(client)
    client.on("close", () => open.delete(client))
    pipeTo(client, ports, next++, counts)
  })
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const close = () =>
        new Promise<void>((r) => {
          server.close(() => r())
          for (const c of open) c.destroy() // keep-alive connections would hold close() open
        })
      resolve({ port, connections: counts, close })
    })
  })
}
