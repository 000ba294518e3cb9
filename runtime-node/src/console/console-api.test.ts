/**
 * The console's HTTP contract without a browser, over HTTPS: one `cairn
 * server` in this process with TLS on the KV API (whose certificate the
 * console serves) and on S3, from a CA made by openssl in the test. The
 * session cookie is `__Host-` and Secure there; sign-in must be JSON from
 * this origin; every change needs the session's CSRF token and this origin;
 * requests reach the S3 and KV listeners through their pinned certificates
 * with the user's own key, so a key that is not the admin's gets the admin
 * API's own refusal; an object's bytes come back as a sandboxed download;
 * sign-out ends the session. A console whose pages were never built says
 * how to build them.
 */
import { Effect, Fiber } from "effect"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { setLogSink } from "../log/log.ts"
import { makeTestPki } from "../network/test-certs.test-support.ts"
import { trustCaFile } from "../server/api-credentials.ts"
import { rawFromFlags, resolveConfig, ServerConfigError } from "../server/config.ts"
import { runServer } from "../server/server.ts"
import { CSRF_HEADER, type MetricsView, type ReportsView, type SessionInfo, type StorageView, type UsersView } from "./contract.ts"
import { loadAssets } from "./static-assets.ts"

const CREDENTIALS = { accessKey: "admin-key", secretKey: "admin-secret-123" }
let dir = ""
let fiber: Fiber.Fiber<void, unknown> | undefined
let base = ""
/** This node's KV API (HTTPS). */
let apiBase = ""

beforeAll(async () => {
  setLogSink(() => {})
  dir = mkdtempSync(join(tmpdir(), "cairn-console-api-"))
  const pki = makeTestPki(dir, ["api", "s3"])
  // A Jepsen run's folder, and a file outside the reports folder that a link inside it points at.
  mkdirSync(join(dir, "reports", "jepsen-run"), { recursive: true })
  writeFileSync(join(dir, "reports", "jepsen-run", "index.html"), "<!doctype html><title>Jepsen run</title><p>valid</p><script>parent.steal()</script>")
  writeFileSync(join(dir, "reports", "jepsen-run", "summary.json"), "{\"valid\":true}")
  writeFileSync(join(dir, "secret.txt"), "not a report")
  symlinkSync(join(dir, "secret.txt"), join(dir, "reports", "jepsen-run", "leak.txt"))
  trustCaFile(pki.ca)
  const config = resolveConfig(rawFromFlags({
    dataDir: join(dir, "data"),
    apiListen: "127.0.0.1:0",
    peerListen: "127.0.0.1:0",
    s3Listen: "127.0.0.1:0",
    consoleListen: "127.0.0.1:0",
    consoleReportsDir: join(dir, "reports"),
    apiTlsCert: pki.nodes.api!.cert,
    apiTlsKey: pki.nodes.api!.key,
    s3TlsCert: pki.nodes.s3!.cert,
    s3TlsKey: pki.nodes.s3!.key,
    ...CREDENTIALS
  }))
  if (config instanceof ServerConfigError) throw new Error(config.message)
  base = await new Promise<string>((resolve, reject) => {
    fiber = Effect.runFork(runServer(config, ({ consoleUrl, apiAddress }) => {
      apiBase = `https://127.0.0.1:${apiAddress.port}`
      if (consoleUrl === undefined) reject(new Error("no console"))
      else resolve(consoleUrl)
    }))
  })
})

afterAll(async () => {
  if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
  rmSync(dir, { recursive: true, force: true })
})

interface Signed {
  readonly cookie: string
  readonly setCookie: string
  readonly session: SessionInfo
}

const signIn = async (keys: { readonly accessKey: string; readonly secretKey: string }): Promise<Signed> => {
  // Until the single node has elected itself, the user store cannot be read (503).
  for (;;) {
    const res = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(keys) })
    if (res.status === 503) {
      await new Promise((r) => setTimeout(r, 100))
      continue
    }
    expect(res.status, await res.clone().text()).toBe(200)
    const setCookie = res.headers.get("set-cookie") ?? ""
    return { cookie: setCookie.split(";")[0]!, setCookie, session: await res.json() as SessionInfo }
  }
}

const as = (s: Signed, init: RequestInit & { readonly csrf?: boolean } = {}): RequestInit => ({
  ...init,
  headers: { cookie: s.cookie, ...(init.csrf === false ? {} : { [CSRF_HEADER]: s.session.csrfToken }), ...(init.headers as Record<string, string> | undefined) }
})

describe("the console over HTTPS", () => {
  it("serves its page with a strict content security policy", async () => {
    const res = await fetch(`${base}/`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain("<div id=\"app\">")
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'")
    expect(res.headers.get("x-frame-options")).toBe("DENY")
  })

  it("refuses a wrong secret, a sign-in that is not JSON, and one from another origin", async () => {
    const wrong = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...CREDENTIALS, secretKey: "nope-nope" }) })
    expect([401, 503]).toContain(wrong.status)
    const form = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "accessKey=admin-key" })
    expect(form.status).toBe(403)
    const foreign = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json", origin: "https://evil.example" }, body: JSON.stringify(CREDENTIALS) })
    expect(foreign.status).toBe(403)
  })

  it("gives a __Host- Secure HttpOnly SameSite=Strict cookie, and demands the CSRF token and this origin on changes", async () => {
    const admin = await signIn(CREDENTIALS)
    expect(admin.setCookie).toMatch(/^__Host-cairn-console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/)
    expect(admin.session).toMatchObject({ user: "admin", admin: true })
    expect((await fetch(`${base}/api/s3/csrf-less`, as(admin, { method: "PUT", csrf: false }))).status).toBe(403)
    expect((await fetch(`${base}/api/s3/csrf-less`, as(admin, { method: "PUT", headers: { origin: "https://evil.example" } }))).status).toBe(403)
    const otherSession = await signIn(CREDENTIALS)
    expect((await fetch(`${base}/api/s3/csrf-less`, as(admin, { method: "PUT", headers: { [CSRF_HEADER]: otherSession.session.csrfToken } }))).status).toBe(403)
    const listed = await (await fetch(`${base}/api/s3/`, as(admin))).text()
    expect(listed).not.toContain("csrf-less")
  })

  it("forwards S3 through the pinned TLS listener and serves objects as sandboxed downloads", async () => {
    const admin = await signIn(CREDENTIALS)
    expect((await fetch(`${base}/api/s3/files`, as(admin, { method: "PUT", headers: { origin: base } }))).status).toBe(200)
    const page = "<html><script>alert(document.cookie)</script></html>"
    expect((await fetch(`${base}/api/s3/files/a%20dir/page.html`, as(admin, { method: "PUT", body: page, headers: { "content-type": "text/html" } }))).status).toBe(200)
    const got = await fetch(`${base}/api/s3/files/a%20dir/page.html`, as(admin))
    expect(await got.text()).toBe(page)
    expect(got.headers.get("content-disposition")).toBe('attachment; filename="page.html"')
    expect(got.headers.get("content-security-policy")).toContain("sandbox")
    expect(got.headers.get("set-cookie")).toBeNull()
    const bad = await fetch(`${base}/api/s3/Bad_Name`, as(admin, { method: "PUT" }))
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain("<Code>InvalidBucketName</Code>")
  })

  it("answers with the user's own permissions: the admin API refuses a key that is not the admin's", async () => {
    const admin = await signIn(CREDENTIALS)
    const created = await fetch(`${base}/api/admin/s3/users`, as(admin, { method: "POST", body: JSON.stringify({ user: "bob" }) }))
    expect(created.status).toBe(200)
    const bobKeys = await created.json() as { readonly accessKey: string; readonly secretKey: string }
    const cluster = await (await fetch(`${base}/api/cluster`, as(admin))).json() as { readonly members: ReadonlyArray<{ readonly id: string; readonly health: string }> }
    expect(cluster.members.map((m) => [m.id, m.health])).toEqual([["n1", "healthy"]])
    const bob = await signIn(bobKeys)
    expect(bob.session).toMatchObject({ user: "bob", admin: false })
    const refused = await fetch(`${base}/api/admin/s3/users`, as(bob))
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain("admin")
    expect((await fetch(`${base}/api/cluster`, as(bob))).status).toBe(403)
    expect((await fetch(`${base}/api/s3/`, as(bob))).status).toBe(200)
  })

  it("sends membership changes to the admin API with the session's key, and passes on why a change is refused", async () => {
    const admin = await signIn(CREDENTIALS)
    const bad = await fetch(`${base}/api/cluster/members`, as(admin, { method: "POST", body: "not json" }))
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain("peerAddress")
    const unknown = await fetch(`${base}/api/cluster/members/n9`, as(admin, { method: "DELETE" }))
    expect(unknown.status).toBe(404)
    expect((await fetch(`${base}/api/cluster/members/`, as(admin, { method: "DELETE" }))).status).toBe(400)
    // Promoting goes to the admin API too: a voter is no learner (400), an unknown member 404, a GET no route.
    const promoted = await fetch(`${base}/api/cluster/members/n1/promote`, as(admin, { method: "POST" }))
    expect(promoted.status).toBe(400)
    expect(await promoted.text()).toContain("n1 is not a learner")
    expect((await fetch(`${base}/api/cluster/members/n9/promote`, as(admin, { method: "POST" }))).status).toBe(404)
    expect((await fetch(`${base}/api/cluster/members/n1/promote`, as(admin))).status).toBe(404)
    expect((await fetch(`${base}/api/cluster/members/n1/promote`, as(admin, { method: "POST", csrf: false }))).status).toBe(403)
    // A one-node cluster cannot drain its only member: the admin API's reason comes through.
    const drained = await fetch(`${base}/api/cluster/members/n1/drain`, as(admin, { method: "POST" }))
    expect(drained.status).toBe(400)
    expect(await drained.text()).toContain("cannot drain the last member")
    const listed = await (await fetch(`${base}/api/cluster`, as(admin))).json() as { readonly members: ReadonlyArray<{ readonly id: string; readonly membership: string }> }
    expect(listed.members).toContainEqual(expect.objectContaining({ id: "n1", membership: "voter" }))
    // Without the CSRF token nothing changes; a key that is not the admin's gets the admin API's refusal.
    expect((await fetch(`${base}/api/cluster/members/n1/drain`, as(admin, { method: "POST", csrf: false }))).status).toBe(403)
    const carolKeys = await (await fetch(`${base}/api/admin/s3/users`, as(admin, { method: "POST", body: JSON.stringify({ user: "carol" }) }))).json() as { readonly accessKey: string; readonly secretKey: string }
    const carol = await signIn(carolKeys)
    const refused = await fetch(`${base}/api/cluster/members/n1/drain`, as(carol, { method: "POST" }))
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain("admin")
    expect((await fetch(`${base}/api/cluster/members/n1/promote`, as(carol, { method: "POST" }))).status).toBe(403)
  })

  it("makes share links: presigned GETs on S3 that work without a session, with the user's own rights", async () => {
    const admin = await signIn(CREDENTIALS)
    expect((await fetch(`${base}/api/s3/shared`, as(admin, { method: "PUT" }))).status).toBe(200)
    expect((await fetch(`${base}/api/s3/shared/a%20dir/r%C3%A9sum%C3%A9+1.txt`, as(admin, { method: "PUT", body: "shared bytes" }))).status).toBe(200)
    const share = (who: Signed, body: unknown, init: { readonly csrf?: boolean } = {}) =>
      fetch(`${base}/api/share`, as(who, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, ...init }))
    const made = await share(admin, { bucket: "shared", key: "a dir/résumé+1.txt", expiresSeconds: 300 })
    expect(made.status).toBe(200)
    const link = await made.json() as { readonly url: string; readonly expiresMs: number }
    // This node's S3 listener (HTTPS here), not the console: no cookie, no session, only the signature.
    expect(link.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/shared\/a%20dir\/r%C3%A9sum%C3%A9%2B1\.txt\?X-Amz-Algorithm=AWS4-HMAC-SHA256&/)
    expect(link.url).toContain("X-Amz-Expires=300")
    const got = await fetch(link.url)
    expect([got.status, await got.text()]).toEqual([200, "shared bytes"])
    const tampered = await fetch(link.url.replace("X-Amz-Expires=300", "X-Amz-Expires=600"))
    expect(tampered.status).toBe(403)
    // A key that may not read the bucket makes a link that may not either.
    const carolKeys = await (await fetch(`${base}/api/admin/s3/users`, as(admin, { method: "POST", body: JSON.stringify({ user: "carol" }) }))).json() as { readonly accessKey: string; readonly secretKey: string }
    const carolLink = await (await share(await signIn(carolKeys), { bucket: "shared", key: "a dir/résumé+1.txt", expiresSeconds: 60 })).json() as { readonly url: string }
    expect((await fetch(carolLink.url)).status).toBe(403)
    for (const expiresSeconds of [0, 604801, 1.5, "60"]) {
      const refused = await share(admin, { bucket: "shared", key: "x", expiresSeconds })
      expect([expiresSeconds, refused.status]).toEqual([expiresSeconds, 400])
    }
    expect((await share(admin, { bucket: "shared", key: "x", expiresSeconds: 60 }, { csrf: false })).status).toBe(403)
  })

  it("gives the cluster page its storage figures (admin only) and this node's charts", async () => {
    const admin = await signIn(CREDENTIALS)
    const storage = await (await fetch(`${base}/api/cluster/storage`, as(admin))).json() as StorageView
    expect(storage).toMatchObject({ node: "n1", scheme: null, schemeNote: "none: one node keeps one copy" })
    // Read from the node's own /metrics, through the pinned HTTPS listener: a real filesystem, this test's objects.
    const [n1] = storage.nodes
    expect(n1!.id).toBe("n1")
    expect(n1!.error).toBeUndefined()
    expect(n1!.diskSizeBytes).toBeGreaterThan(0)
    expect(n1!.diskAvailableBytes).toBeGreaterThan(0)
    expect(n1!.diskAvailableBytes!).toBeLessThanOrEqual(n1!.diskSizeBytes!)
    expect(n1!.raftBytes).toBeGreaterThan(0)
    const charts = await (await fetch(`${base}/api/metrics?range=300`, as(admin))).json() as MetricsView
    expect(charts).toMatchObject({ node: "n1", stepMs: 5000, keptSeconds: 3600 })
    expect(charts.series.map((s) => s.name)).toContain("S3 requests/s")
    expect(charts.split.map((c) => c.name)).toEqual(["S3 requests/s by operation"])
    // This node by name is this node; another member is asked through its KV API, which serves the same history.
    expect(await (await fetch(`${base}/api/metrics?node=n1&range=300`, as(admin))).json()).toMatchObject({ node: "n1", stepMs: 5000 })
    const missing = await fetch(`${base}/api/metrics?node=n9&range=300`, as(admin))
    expect([missing.status, (await missing.json() as { message: string }).message]).toEqual([404, "n9 is not a member of this cluster"])
    const basic = `Basic ${Buffer.from(`${CREDENTIALS.accessKey}:${CREDENTIALS.secretKey}`).toString("base64")}`
    const served = await fetch(`${apiBase}/v1/metrics/history?range=300`, { headers: { authorization: basic } })
    expect(served.status).toBe(200)
    expect(await served.json()).toMatchObject({ node: "n1", stepMs: 5000, keptSeconds: 3600 })
    expect((await fetch(`${apiBase}/v1/metrics/history`)).status).toBe(401)
    const dave = await signIn(await (await fetch(`${base}/api/admin/s3/users`, as(admin, { method: "POST", body: JSON.stringify({ user: "dave" }) }))).json() as { readonly accessKey: string; readonly secretKey: string })
    expect((await fetch(`${base}/api/cluster/storage`, as(dave))).status).toBe(403)
    // Another member's charts go through the admin API's member list: refused to a key that is not the admin's.
    expect((await fetch(`${base}/api/metrics?node=n9`, as(dave))).status).toBe(403)
  })

  it("lists each user's keys and buckets for the admin, and refuses the list to another key as the admin API does", async () => {
    const admin = await signIn(CREDENTIALS)
    const erin = await signIn(await (await fetch(`${base}/api/admin/s3/users`, as(admin, { method: "POST", body: JSON.stringify({ user: "erin" }) }))).json() as { readonly accessKey: string; readonly secretKey: string })
    expect((await fetch(`${base}/api/s3/erins-photos`, as(erin, { method: "PUT" }))).status).toBe(200)
    expect((await fetch(`${base}/api/s3/admins-logs`, as(admin, { method: "PUT" }))).status).toBe(200)
    const view = await (await fetch(`${base}/api/users`, as(admin))).json() as UsersView
    const user = (name: string) => view.users.find((u) => u.user === name)
    expect(view.users[0]!.user).toBe("admin")
    expect(user("admin")).toMatchObject({ allBuckets: true })
    expect(user("admin")!.owns.map((b) => b.name)).toContain("admins-logs")
    expect(user("erin")).toMatchObject({ accessKeys: [erin.session.accessKey], allBuckets: false })
    // Erin owns exactly the bucket she made: none of the admin's.
    expect(user("erin")!.owns.map((b) => b.name)).toEqual(["erins-photos"])
    const refused = await fetch(`${base}/api/users`, as(erin))
    expect(refused.status).toBe(403)
    expect(JSON.stringify(await refused.json())).not.toContain("erins-photos")
    // Without a session there is no list either.
    expect((await fetch(`${base}/api/users`)).status).toBe(401)
  })

  it("lists and serves the reports folder's HTML reports sandboxed, to the admin only, refusing names outside it", async () => {
    const admin = await signIn(CREDENTIALS)
    const list = await (await fetch(`${base}/api/reports`, as(admin))).json() as ReportsView
    expect(list.reports.map((r) => [r.path, r.title, r.files])).toEqual([["jepsen-run", "Jepsen run", ["index.html", "summary.json"]]])
    const page = await fetch(`${base}/api/reports/jepsen-run/index.html`, as(admin))
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
    // Its own policy: a sandbox (an opaque origin, no script), nothing loaded; not the console's page policy.
    expect(page.headers.get("content-security-policy")).toMatch(/^sandbox; default-src 'none'/)
    expect(page.headers.get("content-disposition")).toBeNull()
    expect(await page.text()).toContain("<title>Jepsen run</title>")
    const summary = await fetch(`${base}/api/reports/jepsen-run/summary.json`, as(admin))
    expect([summary.status, summary.headers.get("content-disposition")]).toEqual([200, "attachment; filename=\"jepsen-run-summary.json\""])
    expect(summary.headers.get("content-security-policy")).toMatch(/^sandbox/)
    const status = async (path: string) => (await fetch(`${base}${path}`, as(admin))).status
    // A link in the folder that leads out of it, a missing file, names that are not report names.
    expect(await status("/api/reports/jepsen-run/leak.txt")).toBe(404)
    expect(await status("/api/reports/jepsen-run/nothing.html")).toBe(404)
    expect(await status("/api/reports/jepsen-run")).toBe(400)
    expect(await status("/api/reports/jepsen-run%2F..%2F..%2Fsecret.txt/x")).toBe(400)
    expect(await status("/api/reports/.jepsen-run/index.html")).toBe(400)
    expect(await status("/api/reports/a/b/c/index.html")).toBe(400)
    const bad = await fetch(`${base}/api/reports/..%2Fsecret.txt/index.html`, as(admin))
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: "bad-request" })
    // Another key: the admin API's own refusal, for the list and for a report.
    const frank = await signIn(await (await fetch(`${base}/api/admin/s3/users`, as(admin, { method: "POST", body: JSON.stringify({ user: "frank" }) }))).json() as { readonly accessKey: string; readonly secretKey: string })
    expect((await fetch(`${base}/api/reports`, as(frank))).status).toBe(403)
    const refused = await fetch(`${base}/api/reports/jepsen-run/index.html`, as(frank))
    expect(refused.status).toBe(403)
    expect(await refused.text()).not.toContain("Jepsen run")
    expect((await fetch(`${base}/api/reports`)).status).toBe(401)
  })

  it("signs out: the old cookie is refused afterwards", async () => {
    const admin = await signIn(CREDENTIALS)
    const out = await fetch(`${base}/api/session`, as(admin, { method: "DELETE" }))
    expect(out.status).toBe(200)
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0")
    const after = await fetch(`${base}/api/s3/`, as(admin))
    expect(after.status).toBe(401)
    expect(await after.json()).toEqual({ error: "unauthorized", message: "sign in first" })
    expect((await fetch(`${base}/api/nowhere`, as(await signIn(CREDENTIALS)))).status).toBe(404)
  })

  // Last of the sign-ins: it leaves this address limited for the rest of the window.
  it("makes an address that keeps failing to sign in wait, before it compares even a right secret", async () => {
    const attempt = (secretKey: string) =>
      fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...CREDENTIALS, secretKey }) })
    let wrong = 0
    let last = await attempt("nope-nope")
    for (let i = 0; i < 30 && last.status !== 429; i++) {
      expect([401, 503]).toContain(last.status)
      if (last.status === 401) wrong++
      last = await attempt("nope-nope")
    }
    // The earlier tests' sign-ins from this address forgave its earlier failure.
    expect(wrong).toBe(10)
    expect(last.status).toBe(429)
    expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0)
    expect(await last.json()).toMatchObject({ error: "too-many-attempts" })
    const right = await attempt(CREDENTIALS.secretKey)
    expect(right.status).toBe(429)
    expect(right.headers.get("set-cookie")).toBeNull()
  })

  it("says how to build the pages when they were never built", () => {
    const assets = loadAssets(join(dir, "no-such-build"))
    expect(assets.built).toBe(false)
    expect(!assets.built && assets.problem).toContain("npm run build:console")
  })
})
