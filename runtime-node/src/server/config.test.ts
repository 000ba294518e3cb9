/**
 * Configuration: precedence (flags > environment > file > defaults) and a
 * message that says what to fix for every bad value, including through the
 * real CLI (exit code 2, unknown flags refused).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parsePeerList, rawFromEnv, rawFromFile, rawFromFlags, resolveConfig, ServerConfigError, type ServerConfig } from "./config.ts"
import { cliMain } from "./local-cluster.ts"
import { defaultOverloadLimits } from "../overload/limits.ts"

const ok = (c: ServerConfig | ServerConfigError): ServerConfig => {
  if (c instanceof ServerConfigError) throw new Error(`unexpected config error: ${c.message}`)
  return c
}
const bad = (c: ServerConfig | ServerConfigError): string => {
  if (!(c instanceof ServerConfigError)) throw new Error("expected a configuration error")
  return c.message
}

describe("server configuration", () => {
  it("configures the S3 endpoint: region, TLS (both files or neither) and virtual-host domains", () => {
    const d = ok(resolveConfig())
    expect([d.s3Region, d.s3Tls, d.s3Domains]).toEqual(["us-east-1", undefined, []])
    const file = rawFromFile("c.json", JSON.stringify({ s3Domains: ["s3.example.com", "Localhost"], s3Region: "eu-west-1" }))
    if (file instanceof ServerConfigError) throw new Error(file.message)
    const c = ok(resolveConfig(file, rawFromEnv({ CAIRN_S3_TLS_CERT: "/c.pem", CAIRN_S3_TLS_KEY: "/k.pem" })))
    expect([c.s3Region, c.s3Tls, c.s3Domains]).toEqual(["eu-west-1", { certPath: "/c.pem", keyPath: "/k.pem" }, ["s3.example.com", "localhost"]])
    expect(bad(resolveConfig(rawFromFlags({ s3TlsCert: "/c.pem" })))).toContain("--s3-tls-key")
    expect(bad(resolveConfig(rawFromFlags({ s3Region: "EU West" })))).toContain("flag --s3-region")
  })

  it("takes a public S3 endpoint for the console's share links: an http(s) origin, nothing more", () => {
    expect(ok(resolveConfig()).consoleShareEndpoint).toBeUndefined()
    expect(ok(resolveConfig(rawFromFlags({ consoleShareEndpoint: "https://S3.Example.com:443/" }))).consoleShareEndpoint).toBe("https://s3.example.com")
    expect(ok(resolveConfig(rawFromEnv({ CAIRN_CONSOLE_SHARE_ENDPOINT: "http://203.0.113.7:8443" }))).consoleShareEndpoint).toBe("http://203.0.113.7:8443")
    expect(ok(resolveConfig(rawFromEnv({ CAIRN_CONSOLE_SHARE_ENDPOINT: "https://a.example" }), rawFromFlags({ consoleShareEndpoint: "" }))).consoleShareEndpoint).toBeUndefined()
    expect(bad(resolveConfig(rawFromFlags({ consoleShareEndpoint: "s3.example.com" })))).toContain("flag --console-share-endpoint: expected an http:// or https:// URL")
    expect(bad(resolveConfig(rawFromFlags({ consoleShareEndpoint: "ftp://s3.example.com" })))).toContain("is http:// or https://")
    expect(bad(resolveConfig(rawFromFlags({ consoleShareEndpoint: "https://proxy.example.com/s3" })))).toContain("no path, query or fragment")
    expect(bad(resolveConfig(rawFromFlags({ consoleShareEndpoint: "https://u:p@s3.example.com" })))).toContain("no user or password")
  })

  it("configures KV API TLS (both or neither), peer mutual TLS (all three or none) and public metrics", () => {
    const d = ok(resolveConfig())
    expect([d.apiTls, d.peerTls, d.metricsPublic]).toEqual([undefined, undefined, false])
    const c = ok(resolveConfig(
      rawFromEnv({ CAIRN_API_TLS_CERT: "/a.pem", CAIRN_API_TLS_KEY: "/a.key", CAIRN_METRICS_PUBLIC: "true" }),
      rawFromFlags({ peerTlsCert: "/p.pem", peerTlsKey: "/p.key", peerTlsCa: "/ca.pem" })
    ))
    expect([c.apiTls, c.peerTls, c.metricsPublic]).toEqual([{ certPath: "/a.pem", keyPath: "/a.key" }, { certPath: "/p.pem", keyPath: "/p.key", caPath: "/ca.pem" }, true])
    expect(bad(resolveConfig(rawFromFlags({ apiTlsKey: "/a.key" })))).toContain("--api-tls-cert and --api-tls-key: set both")
    expect(bad(resolveConfig(rawFromFlags({ peerTlsCert: "/p.pem", peerTlsKey: "/p.key" })))).toContain("--peer-tls-cert, --peer-tls-key and --peer-tls-ca: set all three")
    expect(bad(resolveConfig(rawFromFlags({ peerTlsCa: "/ca.pem" })))).toContain("set all three")
    expect(bad(resolveConfig(rawFromFlags({ metricsPublic: "maybe" })))).toContain("flag --metrics-public: expected true or false")
    const file = rawFromFile("c.json", JSON.stringify({ metricsPublic: true, apiTlsCert: "/f.pem", apiTlsKey: "/f.key" }))
    if (file instanceof ServerConfigError) throw new Error(file.message)
    expect(ok(resolveConfig(file)).apiTls).toEqual({ certPath: "/f.pem", keyPath: "/f.key" })
  })

  it("runs the streaming log by default; --no-log, CAIRN_LOG=false or the file's log: false turn it off (flags win)", () => {
    expect(ok(resolveConfig()).log).toBe(true)
    expect(ok(resolveConfig(rawFromFlags({ log: "false" }))).log).toBe(false)
    expect(ok(resolveConfig(rawFromEnv({ CAIRN_LOG: "false" }), rawFromFlags({ log: "true" }))).log).toBe(true)
    const file = rawFromFile("c.json", JSON.stringify({ log: false }))
    if (file instanceof ServerConfigError) throw new Error(file.message)
    expect(ok(resolveConfig(file)).log).toBe(false)
    expect(bad(resolveConfig(rawFromEnv({ CAIRN_LOG: "off" })))).toContain("environment variable CAIRN_LOG: expected true or false")
  })

  it("configures the overload limits: defaults, every source, positive whole numbers only", () => {
    expect(ok(resolveConfig()).overload).toEqual(defaultOverloadLimits)
    const file = rawFromFile("c.json", JSON.stringify({ maxConnections: 5000, idleTimeoutMs: "1000" }))
    if (file instanceof ServerConfigError) throw new Error(file.message)
    const c = ok(resolveConfig(file, rawFromEnv({ CAIRN_MAX_INFLIGHT_BYTES: "4096" }), rawFromFlags({ maxInflightRequests: "7", idleTimeoutMs: "2000" })))
    expect(c.overload).toMatchObject({ maxConnections: 5000, maxInflightBytes: 4096, maxInflightRequests: 7, idleTimeoutMs: 2000, headerTimeoutMs: 10_000 })
    expect(bad(resolveConfig(rawFromFlags({ maxQueuedRequests: "0" })))).toContain("flag --max-queued-requests: expected a positive whole number")
    expect(bad(resolveConfig(rawFromEnv({ CAIRN_HEADER_TIMEOUT_MS: "soon" })))).toContain("environment variable CAIRN_HEADER_TIMEOUT_MS")
  })

  it("defaults to one node on loopback with data under ./data", () => {
    const c = ok(resolveConfig())
    expect(c.id).toBe("n1")
    expect(c.dataDir).toBe("./data")
    expect([...c.peers.keys()]).toEqual(["n1"])
    expect(c.apiListen).toEqual({ host: "127.0.0.1", port: 9100 })
    expect(c.peerListen).toEqual({ host: "127.0.0.1", port: 9200 })
    expect(c.s3Listen).toEqual({ host: "127.0.0.1", port: 9000 })
    expect(c.apiPeers.get(c.id)).toBe("127.0.0.1:9100")
  })

  it("keeps this node's entry of --api-peers rather than its wildcard listen address", () => {
    const listed = ok(resolveConfig(rawFromEnv({ CAIRN_ID: "a", CAIRN_PEERS: "a=a.peers:9200,b=b.peers:9200", CAIRN_API_PEERS: "a=a.peers:9100,b=b.peers:9100", CAIRN_API_LISTEN: "0.0.0.0:9100" })))
    expect(listed.apiPeers.get("a" as typeof listed.id)).toBe("a.peers:9100")
    const unlisted = ok(resolveConfig(rawFromEnv({ CAIRN_ID: "a", CAIRN_API_PEERS: "b=b.peers:9100", CAIRN_API_LISTEN: "0.0.0.0:9100" })))
    expect(unlisted.apiPeers.get("a" as typeof unlisted.id)).toBe("0.0.0.0:9100")
  })

  it("lets flags win over the environment and the environment over the file", () => {
    const file = rawFromFile("c.json", JSON.stringify({ id: "f1", dataDir: "/f", apiListen: "127.0.0.1:1111" }))
    if (file instanceof ServerConfigError) throw new Error(file.message)
    const env = rawFromEnv({ CAIRN_ID: "e1", CAIRN_API_LISTEN: "127.0.0.1:2222" })
    const flags = rawFromFlags({ id: "x1" })
    const c = ok(resolveConfig(file, env, flags))
    expect(c.id).toBe("x1")
    expect(c.apiListen.port).toBe(2222)
    expect(c.dataDir).toBe("/f")
  })

  it("listens where --peers puts this node unless --peer-listen says otherwise", () => {
    const c = ok(resolveConfig(rawFromFlags({ id: "n2", peers: "n1=127.0.0.1:7001,n2=127.0.0.1:7002" })))
    expect(c.peerListen).toEqual({ host: "127.0.0.1", port: 7002 })
    expect(c.peers.size).toBe(2)
  })

  it("names the flag and what to fix for a bad port", () => {
    expect(bad(resolveConfig(rawFromFlags({ apiListen: "127.0.0.1:99999" })))).toMatch(/flag --api-listen: port must be a number from 0 to 65535, got "99999"/)
    expect(bad(resolveConfig(rawFromFlags({ peerListen: "localhost" })))).toMatch(/flag --peer-listen: expected host:port/)
    expect(bad(resolveConfig(rawFromEnv({ CAIRN_S3_LISTEN: "x:y" })))).toMatch(/environment variable CAIRN_S3_LISTEN: port must be/)
  })

  it("names the problem in a bad peers string", () => {
    expect(bad(resolveConfig(rawFromFlags({ peers: "n1=127.0.0.1" })))).toMatch(/flag --peers: expected host:port.* in "n1=127.0.0.1"/)
    expect(bad(resolveConfig(rawFromFlags({ peers: "n1:127.0.0.1:9" })))).toMatch(/expected id=host:port, got "n1:127.0.0.1:9"/)
    expect(bad(resolveConfig(rawFromFlags({ peers: "n1=a:1,n1=b:2" })))).toMatch(/node n1 is listed twice/)
    expect(bad(resolveConfig(rawFromFlags({ peers: "bad id=a:1" })))).toMatch(/node ids are 1-64/)
    expect(bad(resolveConfig(rawFromFlags({ peers: "n2=127.0.0.1:7002" })))).toMatch(/must include this node \(n1=host:port\)/)
    expect(parsePeerList("n1=[::1]:7001,n2=10.0.0.2:7002")).toEqual(new Map([["n1", { host: "::1", port: 7001 }], ["n2", { host: "10.0.0.2", port: 7002 }]]))
  })

  it("refuses bad ids, clashing ports, half a credential pair and bad file contents", () => {
    expect(bad(resolveConfig(rawFromFlags({ id: "n/1" })))).toMatch(/flag --id: node ids are 1-64/)
    expect(bad(resolveConfig(rawFromFlags({ apiListen: "127.0.0.1:9200" })))).toMatch(/--peer-listen and --api-listen are both 127.0.0.1:9200/)
    expect(bad(resolveConfig(rawFromEnv({ CAIRN_ACCESS_KEY: "admin" })))).toMatch(/set both or neither/)
    expect(bad(resolveConfig(rawFromEnv({ CAIRN_CLUSTER_SECRET: "short" })))).toMatch(/CAIRN_CLUSTER_SECRET: must be at least 16/)
    const notJson = rawFromFile("c.json", "{ id: n1 }")
    expect(notJson).toBeInstanceOf(ServerConfigError)
    expect((notJson as ServerConfigError).message).toMatch(/config file c.json: not valid JSON/)
    expect((rawFromFile("c.json", JSON.stringify({ apiListn: "x" })) as ServerConfigError).message).toMatch(/unknown key "apiListn"/)
    expect((rawFromFile("c.json", JSON.stringify({ id: 7 })) as ServerConfigError).message).toMatch(/key "id": Expected string/)
    const portInFile = rawFromFile("c.json", JSON.stringify({ apiListen: "127.0.0.1:0x50" }))
    expect(bad(resolveConfig(portInFile as Exclude<typeof portInFile, ServerConfigError>))).toMatch(/config file c.json: key "apiListen": port must be/)
  })

  it("reports bad values through the CLI with exit code 2, and refuses unknown flags", () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-config-"))
    const run = (...args: Array<string>) => spawnSync(process.execPath, [cliMain, "server", ...args], { encoding: "utf8", cwd: dir, env: { ...process.env, CAIRN_API_LISTEN: undefined } })
    const port = run("--api-listen", "127.0.0.1:70000")
    expect(port.status).toBe(2)
    expect(port.stderr).toMatch(/flag --api-listen: port must be a number from 0 to 65535, got "70000"/)
    const peers = run("--peers", "n1=127.0.0.1:9200,n2")
    expect(peers.status).toBe(2)
    expect(peers.stderr).toMatch(/flag --peers: expected id=host:port, got "n2"/)
    writeFileSync(join(dir, "bad.json"), "{ not json")
    const file = run("--config", "bad.json")
    expect(file.status).toBe(2)
    expect(file.stderr).toMatch(/config file bad.json: not valid JSON/)
    const share = run("--console-share-endpoint", "https://proxy.example.com/s3")
    expect(share.status).toBe(2)
    expect(share.stderr).toMatch(/flag --console-share-endpoint: a share endpoint is an origin only/)
    const unknown = run("--bogus", "1")
    expect(unknown.status).not.toBe(0)
    expect(unknown.stderr).toMatch(/Unrecognized flag: --bogus/)
    const multi = run("--peers", "n1=127.0.0.1:1,n2=127.0.0.1:2", "--data-dir", join(dir, "d"))
    expect(multi.status).toBe(2)
    expect(multi.stderr).toMatch(/multi-node cluster needs a shared secret/)
  }, 60_000)
})
