/** Where the image's healthcheck probes /ready, from the variables and the config file the server also reads. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { readyTarget } from "./ready-url.ts"

const dir = mkdtempSync(join(tmpdir(), "cairn-ready-url-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("readyTarget", () => {
  it("probes the default API address, and a wildcard listen address on loopback", () => {
    expect(readyTarget({})).toEqual({ url: "http://127.0.0.1:9100/ready", tls: false })
    expect(readyTarget({ CAIRN_API_LISTEN: "0.0.0.0:9101" })).toEqual({ url: "http://127.0.0.1:9101/ready", tls: false })
    expect(readyTarget({ CAIRN_API_LISTEN: "[::]:9102" })).toEqual({ url: "http://[::1]:9102/ready", tls: false })
    expect(readyTarget({ CAIRN_API_LISTEN: "10.0.0.7:9100" })).toEqual({ url: "http://10.0.0.7:9100/ready", tls: false })
  })

  it("reads the CAIRN_CONFIG file, under the variables, and uses https when the API has TLS", () => {
    const file = join(dir, "cairn.json")
    writeFileSync(file, JSON.stringify({ apiListen: "0.0.0.0:9300", apiTlsCert: "/etc/cairn/api.crt", apiTlsKey: "/etc/cairn/api.key" }))
    expect(readyTarget({ CAIRN_CONFIG: file })).toEqual({ url: "https://127.0.0.1:9300/ready", tls: true })
    expect(readyTarget({ CAIRN_CONFIG: file, CAIRN_API_LISTEN: "0.0.0.0:9301" })).toEqual({ url: "https://127.0.0.1:9301/ready", tls: true })
  })

  it("says what is wrong instead of probing somewhere else", () => {
    expect(readyTarget({ CAIRN_API_LISTEN: "nonsense" })).toMatchObject({ _tag: "ServerConfigError", message: expect.stringContaining("CAIRN_API_LISTEN") })
    expect(readyTarget({ CAIRN_CONFIG: join(dir, "missing.json") })).toMatchObject({ message: expect.stringContaining("missing.json: cannot read it") })
  })
})
