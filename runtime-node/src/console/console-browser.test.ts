/**
 * The web console in a real browser against a real 3-node cluster: Debian's
 * chromium, headless, driven by playwright-core (no browser download), and
 * three `cairn server` processes, each in its own process group and stopped
 * by its group id. One walk through what an operator does: a wrong key is
 * refused with a message, sign-in, a bucket name S3 refuses, a bucket
 * created with versioning, a 20 MiB file dropped on the page (multipart,
 * with progress) and downloaded back byte for byte, an upload cut off
 * halfway (paused with a message, cancelled, nothing left of it), uploads
 * resumed with only their missing parts (in the page, and after a reload),
 * a share link of an old version, a deleted key restored, folders and paging,
 * deleting many at once, restoring an old version, adding a user, a topic
 * of the streaming log created and its records shown, a record produced
 * from the page, a consumer group (kcat) with its members and lag, a
 * topic's retention changed and partitions grown, a CSRF
 * refusal, watching a node go down and come back on the cluster page,
 * signing out, and draining a member from a follower's console (the change
 * goes on to the leader).
 *
 * Screenshots go to $CAIRN_CONSOLE_SCREENSHOTS when set (kept), else to the
 * test's temporary folder (removed). Without /usr/bin/chromium the test
 * skips, saying so; in CI (CI=true, where .ci/run installs it) it fails.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CreateBucketCommand, DeleteObjectCommand, GetBucketCorsCommand, GetBucketTaggingCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { writeReport } from "@cairn/jepsen/report/write"
import { partitionForKey } from "@cairn/core/log/topics/key-partitioner"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { apiHeaders } from "../server/api-credentials.ts"
import { cliMain, type LocalCluster, type LocalNodeSpec, planCluster, serverArgs } from "../server/local-cluster.ts"

const CHROMIUM = "/usr/bin/chromium"
const haveChromium = existsSync(CHROMIUM)
const CREDENTIALS = { accessKey: "console-admin", secretKey: "console-admin-secret" }
const BIG = 20 * 1024 * 1024
const REPORT = JSON.stringify({ name: "report", items: [1, 2, 3] })
/** A 1×1 PNG. */
const PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
/**
 * A small valid PDF written by hand: one page per text, each with the text in Helvetica and a filled blue bar
 * (so a drawn page has dark pixels whatever font the browser substitutes), and a correct xref table.
 */
const tinyPdf = (texts: ReadonlyArray<string>): Buffer => {
  const pageIds = texts.map((_, i) => 4 + i * 2)
  const objects = new Map<number, string>([
    [1, "<< /Type /Catalog /Pages 2 0 R >>"],
    [2, `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${texts.length} >>`],
    [3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
  ])
  texts.forEach((text, i) => {
    const content = `BT /F1 28 Tf 30 120 Td (${text}) Tj ET 0 0 0.8 rg 30 40 200 30 re f`
    objects.set(pageIds[i]!, `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[i]! + 1} 0 R >>`)
    objects.set(pageIds[i]! + 1, `<< /Length ${content.length} >>\nstream\n${content}\nendstream`)
  })
  let out = "%PDF-1.4\n"
  const offsets: Array<number> = []
  for (let id = 1; id <= objects.size; id++) {
    offsets.push(out.length)
    out += `${id} 0 obj\n${objects.get(id)}\nendobj\n`
  }
  const xref = out.length
  out += `xref\n0 ${objects.size + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`
  out += `trailer\n<< /Size ${objects.size + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(out, "latin1")
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** xorshift32 bytes: the page builds the dropped file with this same function, the test checks the download against it. */
const patternBytes = (size: number, seed: number): Uint8Array => {
  const words = new Uint32Array(Math.ceil(size / 4))
  let x = seed >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    words[i] = x
  }
  return new Uint8Array(words.buffer, 0, size)
}

const dir = mkdtempSync(join(tmpdir(), "cairn-console-"))
const shots = process.env["CAIRN_CONSOLE_SCREENSHOTS"] ?? join(dir, "screenshots")
const groups = new Map<string, ChildProcess>()
let context: BrowserContext | undefined

/** Starts one node in its own process group (setsid), its output appended to the cluster's log. */
const startNode = (cluster: LocalCluster, node: LocalNodeSpec, consolePort: number): void => {
  const log = openSync(join(dir, `${node.id}.log`), "a")
  const args = serverArgs(cluster, node, ["--console-listen", `127.0.0.1:${consolePort}`, "--console-reports-dir", join(dir, "reports"), "--request-timeout-ms", "3000"])
  const child = spawn(process.execPath, [cliMain, ...args], {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, CAIRN_CLUSTER_SECRET: cluster.secret, CAIRN_ACCESS_KEY: CREDENTIALS.accessKey, CAIRN_SECRET_KEY: CREDENTIALS.secretKey }
  })
  groups.set(node.id, child)
}

/** SIGKILLs a node's whole process group, by its id, and waits for it to be gone. */
const killNode = async (id: string): Promise<void> => {
  const child = groups.get(id)
  if (child === undefined || child.pid === undefined) return
  groups.delete(id)
  const gone = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once("exit", () => r()))
  try {
    process.kill(-child.pid, "SIGKILL")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e
  }
  await gone
}

const leaderOf = async (nodes: ReadonlyArray<LocalNodeSpec>): Promise<string> => {
  for (;;) {
    const seen = await Promise.all(nodes.map(async (n) => {
      try {
        const res = await fetch(`http://127.0.0.1:${n.apiPort}/v1/status`, { headers: apiHeaders(CREDENTIALS), signal: AbortSignal.timeout(1000) })
        return (await res.json() as { readonly leader: string | null }).leader
      } catch {
        return null
      }
    }))
    if (seen[0] !== null && seen.every((l) => l === seen[0])) return seen[0]!
    await sleep(200)
  }
}

/** Kafka consumers (kcat) the groups test starts, each in its own process group. */
const consumers = new Set<ChildProcess>()
const KCAT = "/usr/bin/kcat"

/** SIGKILLs every consumer's process group, by its id, and waits for each to be gone. */
const stopConsumers = async (): Promise<void> => {
  const left = [...consumers]
  consumers.clear()
  await Promise.all(left.map(async (child) => {
    const gone = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once("exit", () => r()))
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e
    }
    await gone
  }))
}

/** How long a check of what the page shows may wait for it to render (a loaded machine renders in seconds). */
const POLL = { timeout: 60_000, interval: 100 }

const shot = async (page: Page, name: string): Promise<void> => {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
}

afterAll(async () => {
  await stopConsumers()
  await context?.close()
  await Promise.all([...groups.keys()].map(killNode))
  rmSync(dir, { recursive: true, force: true })
})

// In CI a missing browser is a failure, not a skip: .ci/run installs it.
if (!haveChromium && process.env["CI"] === "true") {
  describe("web console in chromium", () => {
    it("needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)", () => {
      expect.fail(`${CHROMIUM} is missing: install it with apt-get install chromium`)
    })
  })
}

// Generous bounds: on an idle machine the whole walk takes about 30 s, but a loaded one answers S3 in seconds, not milliseconds.
describe.skipIf(!haveChromium)(`web console in chromium${haveChromium ? "" : ` (skipped: ${CHROMIUM} is missing; apt-get install chromium to run it)`}`, { timeout: 300_000 }, () => {
  let cluster: LocalCluster
  let consolePorts: Array<number>
  let s3: S3Client
  let page: Page
  const consoleUrl = (i: number) => `http://127.0.0.1:${consolePorts[i]}/`

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true })
    const ports = await freeLoopbackPorts(15)
    // Kafka listeners of their own: a consumer group on the topic pages is made by a real Kafka client (kcat).
    cluster = planCluster({ nodes: 3, dataRoot: dir, apiBase: 0, peerBase: 0, s3Base: 0, secret: "console-test-secret-0123456789", credentials: CREDENTIALS, ports: ports.slice(0, 9), kafka: ports.slice(12, 15) })
    consolePorts = ports.slice(9, 12)
    cluster.nodes.forEach((n, i) => startNode(cluster, n, consolePorts[i]!))
    await leaderOf(cluster.nodes)
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${cluster.nodes[0]!.s3Port}`,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: CREDENTIALS.accessKey, secretAccessKey: CREDENTIALS.secretKey }
    })
    context = await chromium.launchPersistentContext(join(dir, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1200, height: 800 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    })
    page = context.pages()[0] ?? await context.newPage()
    page.setDefaultTimeout(120_000)
  }, 300_000)

  it("refuses a wrong secret with a message, then signs in", async () => {
    await page.goto(consoleUrl(0))
    await page.getByLabel("Access key").fill(CREDENTIALS.accessKey)
    await page.getByLabel("Secret key").fill("not-the-secret")
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("alert").filter({ hasText: "the access key or the secret is wrong" }).waitFor()
    await shot(page, "sign-in-wrong-key")
    await page.getByLabel("Secret key").fill(CREDENTIALS.secretKey)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("heading", { name: "Buckets" }).waitFor()
    // The session cookie is HttpOnly and SameSite=Strict: the page's scripts cannot read it.
    const cookies = await context!.cookies()
    expect(cookies.find((c) => c.name === "cairn-console")).toMatchObject({ httpOnly: true, sameSite: "Strict" })
    expect(await page.evaluate("document.cookie")).toBe("")
  })

  it("shows S3's refusal of a bad bucket name, creates a bucket and turns versioning on", async () => {
    await page.getByLabel("New bucket name").fill("Bad_Name")
    await page.getByRole("button", { name: "Create bucket" }).click()
    await page.getByRole("alert").filter({ hasText: "Bucket names are 3–63 characters" }).waitFor()
    await shot(page, "bucket-name-refused")
    await page.getByLabel("New bucket name").fill("photos")
    await page.getByRole("button", { name: "Create bucket" }).click()
    await page.getByRole("link", { name: "photos", exact: true }).waitFor()
    await page.getByRole("button", { name: "Enable versioning of photos" }).click()
    await page.getByRole("button", { name: "Suspend versioning of photos" }).waitFor()
    await shot(page, "buckets")
  })

  it("uploads a 20 MiB file dropped on the page and downloads the same bytes", async () => {
    await page.getByRole("link", { name: "photos", exact: true }).click()
    await page.getByText("Nothing here yet").waitFor()
    const file = await page.evaluateHandle(`(() => {
      const bytes = (${patternBytes.toString()})(${BIG}, 7)
      const dt = new DataTransfer()
      dt.items.add(new File([bytes], "big.bin", { type: "application/octet-stream" }))
      return dt
    })()`)
    // Every value the progress bar takes, recorded by the page itself.
    await page.evaluate(`(() => {
      window.progressSeen = []
      new MutationObserver(() => document.querySelectorAll("progress").forEach((p) => window.progressSeen.push(p.value))).observe(document.body, { subtree: true, childList: true, attributes: true })
    })()`)
    await page.dispatchEvent("[data-testid=drop-zone]", "dragenter", { dataTransfer: file })
    await page.dispatchEvent("[data-testid=drop-zone]", "drop", { dataTransfer: file })
    await page.getByText("Uploaded 20 MiB").waitFor()
    await page.getByRole("rowheader", { name: "big.bin" }).waitFor()
    await shot(page, "objects-uploaded")
    const seen = await page.evaluate("window.progressSeen") as ReadonlyArray<number>
    expect(seen.some((v) => v > 0 && v < BIG), `progress values seen: ${seen.slice(0, 20).join(", ")}`).toBe(true)
    // Above 16 MiB the page uploads in 8 MiB parts: S3's ETag of a 3-part object ends in -3.
    const head = await s3.send(new HeadObjectCommand({ Bucket: "photos", Key: "big.bin" }))
    expect(head.ETag).toMatch(/-3"$/)
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download big.bin" }).click()])
    const got = readFileSync(await download.path())
    expect(got.length).toBe(BIG)
    expect(Buffer.compare(got, Buffer.from(patternBytes(BIG, 7)))).toBe(0)
  })

  it("says why an upload cut off halfway failed, and leaves nothing of it", async () => {
    // The second part's request is cut by the browser's network layer, as a dropped connection would be: the upload
    // pauses, saying why; cancelling it then aborts it on the node.
    const cut = /\/api\/s3\/photos\/cut\.bin\?.*partNumber=2/
    await page.route(cut, (route) => route.abort("connectionreset"))
    const file = await page.evaluateHandle(`(() => {
      const dt = new DataTransfer()
      dt.items.add(new File([(${patternBytes.toString()})(${BIG}, 9)], "cut.bin"))
      return dt
    })()`)
    await page.dispatchEvent("[data-testid=drop-zone]", "drop", { dataTransfer: file })
    await page.getByRole("alert").filter({ hasText: "the connection to the node broke during the upload" }).filter({ hasText: /^Paused at / }).waitFor()
    await page.unroute(cut)
    await page.getByRole("button", { name: "Cancel the upload of cut.bin" }).click()
    await page.getByText("Cancelled: nothing of it was kept").waitFor()
    await page.reload()
    await page.getByRole("rowheader", { name: "big.bin" }).waitFor()
    expect(await page.getByRole("rowheader", { name: "cut.bin" }).count()).toBe(0)
    expect(await page.getByRole("list", { name: "Paused uploads" }).count()).toBe(0)
    const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: "photos" }))
    expect(pending.Uploads ?? []).toEqual([])
  })

  /** Drops a file of `size` pattern bytes (seed `seed`) on the page; a fixed `lastModified` lets the page recognise it again. */
  const dropPattern = async (name: string, seed: number, lastModified?: number): Promise<void> => {
    const file = await page.evaluateHandle(`(() => {
      const dt = new DataTransfer()
      dt.items.add(new File([(${patternBytes.toString()})(${BIG}, ${seed})], ${JSON.stringify(name)}${lastModified === undefined ? "" : `, { lastModified: ${lastModified} }`}))
      return dt
    })()`)
    await page.dispatchEvent("[data-testid=drop-zone]", "drop", { dataTransfer: file })
  }

  /** The part numbers of the upload requests of `name` the page makes, and whether each got an answer, in order. */
  const recordParts = (name: string) => {
    const events: Array<string> = []
    const partOf = (url: string) => new RegExp(`/api/s3/photos/${name.replace(".", "\\.")}\\?.*partNumber=(\\d+)`).exec(url)?.[1]
    const onRequest = (r: { url(): string }) => void (partOf(r.url()) === undefined ? undefined : events.push(`sent ${partOf(r.url())}`))
    const onDone = (r: { url(): string }) => void (partOf(r.url()) === undefined ? undefined : events.push(`ended ${partOf(r.url())}`))
    page.on("request", onRequest)
    page.on("requestfinished", onDone)
    page.on("requestfailed", onDone)
    return {
      events,
      sent: () => events.filter((e) => e.startsWith("sent ")).map((e) => Number(e.slice(5))).sort((a, b) => a - b),
      stop: () => {
        page.off("request", onRequest)
        page.off("requestfinished", onDone)
        page.off("requestfailed", onDone)
      }
    }
  }

  it("sends parts in parallel, pauses when the connection drops, and resumes with only the parts the node lacks", async () => {
    // Playwright's unroute takes the very matcher route was given.
    const cut = /\/api\/s3\/photos\/resume\.bin\?.*partNumber=[23]/
    await page.route(cut, (route) => route.abort("connectionreset"))
    const first = recordParts("resume.bin")
    await dropPattern("resume.bin", 13)
    await page.getByRole("alert").filter({ hasText: "(1 of 3 parts are on the node)" }).waitFor()
    first.stop()
    // All three parts left before part 1 (the one that reaches the node) ended: four at a time, not one
    // after another. A cut part may end before another is sent: the browser reports them as they go.
    const sentBeforeFirstEnded = first.events.slice(0, first.events.indexOf("ended 1")).filter((e) => e.startsWith("sent ")).sort()
    expect(sentBeforeFirstEnded, first.events.join(", ")).toEqual(["sent 1", "sent 2", "sent 3"])
    await page.getByRole("button", { name: "Resume the upload of resume.bin" }).waitFor()
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: "photos", Prefix: "resume.bin" }))
    expect(listed.Uploads?.length).toBe(1)
    const held = await s3.send(new ListPartsCommand({ Bucket: "photos", Key: "resume.bin", UploadId: listed.Uploads![0]!.UploadId }))
    expect((held.Parts ?? []).map((p) => p.PartNumber)).toEqual([1])
    await shot(page, "upload-paused")
    await page.unroute(cut)
    const resumed = recordParts("resume.bin")
    await page.getByRole("button", { name: "Resume the upload of resume.bin" }).click()
    await page.getByText("Uploaded 20 MiB").waitFor()
    await page.getByRole("rowheader", { name: "resume.bin" }).waitFor()
    resumed.stop()
    expect(resumed.sent()).toEqual([2, 3])
    const head = await s3.send(new HeadObjectCommand({ Bucket: "photos", Key: "resume.bin" }))
    expect(head.ETag).toMatch(/-3"$/)
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download resume.bin" }).click()])
    const got = readFileSync(await download.path())
    expect(got.length).toBe(BIG)
    expect(Buffer.compare(got, Buffer.from(patternBytes(BIG, 13)))).toBe(0)
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: "photos" }))).Uploads ?? []).toEqual([])
  })

  it("resumes after a reload when the same file is chosen again, discards one not wanted, and cancels an upload under way", async () => {
    // A fixed modification time: the page recognises the file chosen again by its name, size and that time.
    const dropAgain = () => dropPattern("again.bin", 17, 1700000000000)
    const cut = /\/api\/s3\/photos\/again\.bin\?.*partNumber=3/
    await page.route(cut, (route) => route.abort("connectionreset"))
    await dropAgain()
    await page.getByRole("alert").filter({ hasText: "(2 of 3 parts are on the node)" }).waitFor()
    await page.unroute(cut)
    await page.reload()
    const earlier = page.getByRole("list", { name: "Paused uploads" })
    await earlier.getByText("choose again.bin again to resume it").waitFor()
    const resumed = recordParts("again.bin")
    await dropAgain()
    await page.getByRole("rowheader", { name: "again.bin" }).waitFor()
    resumed.stop()
    expect(resumed.sent()).toEqual([3])
    const got = await s3.send(new GetObjectCommand({ Bucket: "photos", Key: "again.bin" }))
    expect(Buffer.compare(Buffer.from(await got.Body!.transformToByteArray()), Buffer.from(patternBytes(BIG, 17)))).toBe(0)
    expect(await earlier.count()).toBe(0)

    // A paused upload nobody will resume: Discard, after a reload, aborts it on the node.
    const cutLeft = /\/api\/s3\/photos\/left\.bin\?.*partNumber=2/
    await page.route(cutLeft, (route) => route.abort("connectionreset"))
    await dropPattern("left.bin", 23)
    await page.getByRole("alert").filter({ hasText: "(2 of 3 parts are on the node)" }).waitFor()
    await page.unroute(cutLeft)
    await page.reload()
    await earlier.getByText("choose left.bin again to resume it").waitFor()
    expect(((await s3.send(new ListMultipartUploadsCommand({ Bucket: "photos" }))).Uploads ?? []).map((u) => u.Key)).toEqual(["left.bin"])
    await earlier.getByRole("button", { name: "Discard the paused upload of left.bin" }).click()
    await expect.poll(() => earlier.count(), POLL).toBe(0)
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: "photos" }))).Uploads ?? []).toEqual([])

    // Cancel while a part is still on its way (held here until the page gives up on it): aborted on the node.
    let held: (() => void) | undefined
    let arrived = () => {}
    const heldPart = new Promise<void>((r) => (arrived = r))
    const hold = /\/api\/s3\/photos\/gone\.bin\?.*partNumber=2/
    await page.route(hold, (route) => {
      held = () => void route.abort("aborted").catch(() => undefined)
      arrived()
    })
    await dropPattern("gone.bin", 19)
    await heldPart
    await page.getByRole("button", { name: "Cancel the upload of gone.bin" }).click()
    await page.getByText("Cancelled: nothing of it was kept").waitFor()
    held?.()
    await page.unroute(hold)
    await expect.poll(async () => (await s3.send(new ListMultipartUploadsCommand({ Bucket: "photos" }))).Uploads ?? [], POLL).toEqual([])
    await expect(s3.send(new HeadObjectCommand({ Bucket: "photos", Key: "gone.bin" }))).rejects.toThrow()
  })

  it("makes a share link of an old version from the versions view, which keeps serving that version", async () => {
    const put = async (body: string) => (await s3.send(new PutObjectCommand({ Bucket: "photos", Key: "shared/plan.txt", Body: body }))).VersionId!
    const old = await put("the first plan")
    await put("the second plan")
    await page.goto(`${consoleUrl(0)}#/v/photos?key=shared%2Fplan.txt`)
    await page.getByRole("heading", { name: "Versions of shared/plan.txt" }).waitFor()
    await page.getByRole("button", { name: `Share version ${old}` }).click()
    await page.getByRole("heading", { name: `Share link of version ${old}` }).waitFor()
    await page.getByLabel("Expires after").selectOption({ label: "15 minutes" })
    await page.getByRole("button", { name: "Create link" }).click()
    const link = page.getByLabel(/^Link \(expires /)
    await link.waitFor()
    const url = new URL(await link.inputValue())
    expect([url.searchParams.get("versionId"), url.searchParams.get("X-Amz-Expires")]).toEqual([old, "900"])
    await shot(page, "share-version")
    await put("the third plan")
    // No cookie, no key: the old version, though two newer ones exist.
    const got = await fetch(url)
    expect([got.status, await got.text()]).toEqual([200, "the first plan"])
  })

  it("shows a folder's deleted keys on request and restores one by removing its delete marker", async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: "photos", Key: "shared/plan.txt" }))
    await page.goto(`${consoleUrl(0)}#/b/photos?prefix=shared%2F`)
    await page.getByText("Nothing here yet").waitFor()
    await page.getByLabel("Show deleted keys").check()
    const deleted = page.getByRole("region", { name: "Deleted keys" })
    await deleted.getByRole("rowheader", { name: "plan.txt" }).waitFor()
    expect(page.url()).toContain("deleted=1")
    await shot(page, "deleted-keys")
    await deleted.getByRole("button", { name: "Restore plan.txt" }).click()
    await page.getByText("Restored shared/plan.txt: the version before its deletion is current again.").waitFor()
    await page.getByRole("link", { name: "plan.txt", exact: true }).waitFor()
    await deleted.getByText("No deleted keys here.").waitFor()
    const current = await s3.send(new GetObjectCommand({ Bucket: "photos", Key: "shared/plan.txt" }))
    expect(await current.Body!.transformToString()).toBe("the third plan")
    // Back where the tests below expect the page: the bucket's root.
    await page.goto(`${consoleUrl(0)}#/b/photos?prefix=`)
    await page.getByRole("rowheader", { name: "big.bin" }).waitFor()
  })

  it("browses folders and pages through a long listing, and deletes many at once", async () => {
    // Four at a time: a loaded machine answers a burst of a hundred with 503s.
    for (let i = 0; i < 102; i += 4) {
      await Promise.all([i, i + 1, i + 2, i + 3].filter((j) => j < 102).map((j) => s3.send(new PutObjectCommand({ Bucket: "photos", Key: `many/item-${String(j).padStart(3, "0")}.txt`, Body: `item ${j}` }))))
    }
    await page.reload()
    await page.getByRole("link", { name: "many/" }).click()
    await page.getByRole("rowheader", { name: "item-000.txt" }).waitFor()
    expect(await page.getByRole("rowheader", { name: /^item-/ }).count()).toBe(100)
    await page.getByRole("button", { name: "Next page" }).click()
    await page.getByRole("rowheader", { name: "item-101.txt" }).waitFor()
    expect(await page.getByRole("rowheader", { name: /^item-/ }).count()).toBe(2)
    await page.getByLabel("Select item-100.txt").check()
    await page.getByLabel("Select item-101.txt").check()
    await page.getByRole("button", { name: "Delete selected (2)…" }).click()
    await page.getByRole("button", { name: "Delete", exact: true }).click()
    await page.getByText("Deleted 2 of 2 selected.").waitFor()
    await page.getByText("Nothing here yet").waitFor()
    await page.getByRole("button", { name: "Previous page" }).click()
    await page.getByRole("rowheader", { name: "item-000.txt" }).waitFor()
    await shot(page, "folder-paging")
  })

  it("searches by prefix, sorts the page, changes the page size and lists a folder flat", async () => {
    const names = async () => (await page.getByRole("rowheader").allTextContents()).map((t) => t.trim())
    await page.getByLabel("Keys starting with").fill("item-05")
    await page.getByRole("button", { name: "Search", exact: true }).click()
    await page.getByRole("rowheader", { name: "item-059.txt" }).waitFor()
    // Polled: the page re-renders after the click returns, later on a loaded machine.
    await expect.poll(names, POLL).toEqual(Array.from({ length: 10 }, (_, i) => `item-05${i}.txt`))
    expect(page.url()).toContain("search=item-05")
    await page.getByRole("button", { name: "Clear search" }).click()
    await page.getByRole("rowheader", { name: "item-000.txt" }).waitFor()
    await expect.poll(() => page.getByRole("rowheader").count(), POLL).toBe(100)
    // Name descending, then size: "item 0".."item 9" are 6 bytes, "item 10".."item 99" 7; ties stay in name order.
    await page.getByRole("button", { name: "Name", exact: true }).click()
    await expect.poll(async () => (await names())[0], POLL).toBe("item-099.txt")
    await page.getByRole("button", { name: "Size", exact: true }).click()
    await expect.poll(async () => (await names()).slice(0, 2), POLL).toEqual(["item-000.txt", "item-001.txt"])
    await page.getByRole("button", { name: "Size", exact: true }).click()
    await expect.poll(async () => (await names()).slice(0, 2), POLL).toEqual(["item-010.txt", "item-011.txt"])
    expect(await page.getByRole("columnheader", { name: "Size" }).getAttribute("aria-sort")).toBe("descending")
    await page.getByText("Sorted within this page").waitFor()
    await shot(page, "objects-sorted")
    // Without a delimiter, every key under the bucket, folders gone.
    await page.getByRole("navigation", { name: "Folder" }).getByRole("link", { name: "photos" }).click()
    await page.getByRole("link", { name: "Folder many/", exact: true }).waitFor()
    await page.getByLabel("Every key under this folder").check()
    await page.getByRole("rowheader", { name: "many/item-000.txt" }).waitFor()
    expect(await page.getByRole("link", { name: "Folder many/", exact: true }).count()).toBe(0)
    await page.getByLabel("Keys per page").selectOption("250")
    await page.getByRole("rowheader", { name: "many/item-099.txt" }).waitFor()
    await expect.poll(() => page.getByRole("rowheader", { name: /^many\/item-/ }).count(), POLL).toBe(100)
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true)
    await page.getByLabel("Every key under this folder").uncheck()
    await page.getByRole("link", { name: "Folder many/", exact: true }).waitFor()
  })

  it("restores an old version of a key", async () => {
    await page.getByRole("navigation", { name: "Folder" }).getByRole("link", { name: "photos" }).click()
    for (const text of ["first draft", "second draft!"]) {
      const dt = await page.evaluateHandle(`(() => { const dt = new DataTransfer(); dt.items.add(new File([${JSON.stringify(text)}], "note.txt", { type: "text/plain" })); return dt })()`)
      await page.dispatchEvent("[data-testid=drop-zone]", "drop", { dataTransfer: dt })
      await page.getByText(`Uploaded ${text.length} B`).waitFor()
    }
    await page.getByRole("link", { name: "Versions of note.txt" }).click()
    await page.getByRole("heading", { name: "Versions of note.txt" }).waitFor()
    await page.getByRole("button", { name: /^Restore version / }).first().waitFor()
    expect(await page.getByRole("button", { name: /^Restore version / }).count()).toBe(1)
    await page.getByRole("button", { name: /^Restore version / }).click()
    await page.getByText(/Restored the version of .* as the current one\./).waitFor()
    await page.getByRole("rowheader").nth(2).waitFor()
    expect(await page.getByRole("rowheader").count()).toBe(3)
    await shot(page, "versions-restored")
    const current = await s3.send(new GetObjectCommand({ Bucket: "photos", Key: "note.txt" }))
    expect(await current.Body!.transformToString()).toBe("first draft")
  })

  it("shows an object's details and metadata, edits its tags, and explains a tag S3 refuses", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "photos", Key: "docs/report.json", Body: REPORT, ContentType: "application/json", Metadata: { owner: "alice" }, CacheControl: "no-cache" }))
    await page.goto(`${consoleUrl(0)}#/b/photos?prefix=docs%2F`)
    await page.getByRole("link", { name: "report.json", exact: true }).click()
    await page.getByRole("heading", { name: "report.json", level: 1 }).waitFor()
    const facts = page.locator("dl[aria-label=Object]")
    await facts.getByText("application/json").waitFor()
    expect(await facts.textContent()).toContain("no-cache")
    expect(await page.locator("dl[aria-label='User metadata']").textContent()).toBe("owneralice")
    await page.getByRole("button", { name: "Add tag" }).click()
    await page.getByLabel("Tag 1 key").fill("team")
    await page.getByLabel("Tag 1 value").fill("storage")
    await page.getByRole("button", { name: "Save tags" }).click()
    await page.getByText("Saved 1 tag.").waitFor()
    const tagged = await s3.send(new GetObjectTaggingCommand({ Bucket: "photos", Key: "docs/report.json" }))
    expect(tagged.TagSet).toEqual([{ Key: "team", Value: "storage" }])
    // The same key twice: S3's refusal, with what to do about it, and the stored tags unchanged.
    await page.getByRole("button", { name: "Add tag" }).click()
    await page.getByLabel("Tag 2 key").fill("team")
    await page.getByRole("button", { name: "Save tags" }).click()
    await page.getByRole("alert").filter({ hasText: "Cannot provide multiple Tags with the same key" }).filter({ hasText: "each key once" }).waitFor()
    await shot(page, "object-details")
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: "photos", Key: "docs/report.json" }))).TagSet).toEqual([{ Key: "team", Value: "storage" }])
    await page.getByRole("button", { name: "Remove tag 2" }).click()
    await page.getByRole("region", { name: "Versions" }).getByRole("rowheader").first().waitFor()
    expect(await page.getByRole("region", { name: "Versions" }).getByRole("rowheader").count()).toBe(1)
  })

  it("makes a share link that downloads the object without signing in", async () => {
    await page.getByLabel("Expires after").selectOption({ label: "1 day" })
    await page.getByRole("button", { name: "Create link" }).click()
    const link = page.getByLabel(/^Link \(expires /)
    await link.waitFor()
    const url = await link.inputValue()
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${cluster.nodes[0]!.s3Port}/photos/docs/report\\.json\\?.*X-Amz-Expires=86400`))
    await shot(page, "share-link")
    // From this process, with no cookie and no key: the signature alone grants the read.
    const got = await fetch(url)
    expect([got.status, await got.text()]).toEqual([200, REPORT])
    expect((await fetch(url.replace("report.json", "other.json"))).status).toBe(403)
  })

  it("previews JSON laid out, an image, the head of a long text, and says what it cannot preview", async () => {
    await page.getByRole("region", { name: "Preview" }).locator("pre").waitFor()
    expect(await page.getByLabel("Contents of docs/report.json").textContent()).toBe(JSON.stringify(JSON.parse(REPORT), null, 2))
    await s3.send(new PutObjectCommand({ Bucket: "photos", Key: "docs/pixel.png", Body: Buffer.from(PIXEL_PNG, "base64"), ContentType: "image/png" }))
    await page.goto(`${consoleUrl(0)}#/o/photos?key=docs%2Fpixel.png`)
    const image = page.getByRole("img", { name: "Preview of docs/pixel.png" })
    await image.waitFor()
    // Decoded, not a broken image: the browser read the PNG's real size.
    expect(await image.evaluate((img) => {
      const decoded = img as unknown as { decode(): Promise<void>; readonly naturalWidth: number }
      return decoded.decode().then(() => decoded.naturalWidth)
    })).toBe(1)
    const line = "0123456789abcdef".repeat(4).slice(0, 63) + "\n"
    await s3.send(new PutObjectCommand({ Bucket: "photos", Key: "docs/long.log", Body: line.repeat(1600), ContentType: "text/plain" }))
    await page.goto(`${consoleUrl(0)}#/o/photos?key=docs%2Flong.log`)
    await page.getByText("The first 64 KiB of 100 KiB.").waitFor()
    expect((await page.getByLabel("Contents of docs/long.log").textContent())!.length).toBe(64 * 1024)
    await shot(page, "object-preview-text")
    await page.goto(`${consoleUrl(0)}#/o/photos?key=big.bin`)
    await page.getByText("No preview for application/octet-stream").waitFor()
  })

  it("draws a PDF's pages on a canvas with pdf.js, its worker served by the console itself", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "photos", Key: "docs/two-pages.pdf", Body: tinyPdf(["Cairn page one", "Cairn page two"]), ContentType: "application/pdf" }))
    const failed: Array<string> = []
    page.on("console", (m) => m.type() === "error" && failed.push(m.text()))
    await page.goto(`${consoleUrl(0)}#/o/photos?key=docs%2Ftwo-pages.pdf`)
    const preview = page.getByRole("region", { name: "Preview" })
    const darkPixels = async (n: number) => {
      const canvas = preview.getByRole("img", { name: `Page ${n} of docs/two-pages.pdf` })
      await preview.locator("canvas[aria-busy=false]").waitFor()
      return await canvas.evaluate((el) => {
        const c = el as unknown as { width: number; height: number; getContext(k: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }
        const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data
        let dark = 0
        for (let i = 0; i < data.length; i += 4) if (data[i]! < 128 && data[i + 1]! < 128) dark++
        return dark
      })
    }
    expect(await darkPixels(1)).toBeGreaterThan(500)
    await preview.getByText("Page 1 of 2").waitFor()
    await shot(page, "pdf-preview")
    await preview.getByRole("button", { name: "Next page" }).click()
    await preview.getByText("Page 2 of 2").waitFor()
    expect(await darkPixels(2)).toBeGreaterThan(500)
    expect(await preview.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true)
    // Nothing the CSP refused (a worker from blob:, eval) and no pdf.js failure on the way.
    expect(failed.filter((t) => /Content Security Policy|pdf|worker/i.test(t))).toEqual([])
  })

  it("sets and removes a bucket's tags and CORS rules, and shows S3's refusals with what to change", async () => {
    await page.goto(`${consoleUrl(0)}#/buckets`)
    await page.getByRole("link", { name: "Settings of photos" }).click()
    await page.getByRole("heading", { name: "Bucket tags" }).waitFor()
    await page.getByRole("button", { name: "Add tag" }).click()
    await page.getByLabel("Tag 1 key").fill("team")
    await page.getByLabel("Tag 1 value").fill("storage")
    await page.getByRole("button", { name: "Add tag" }).click()
    await page.getByLabel("Tag 2 key").fill("cost-centre")
    await page.getByLabel("Tag 2 value").fill("42")
    await page.getByRole("button", { name: "Save tags" }).click()
    await page.getByText("Saved 2 tags.").waitFor()
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: "photos" }))).TagSet).toEqual([{ Key: "team", Value: "storage" }, { Key: "cost-centre", Value: "42" }])

    await page.getByRole("button", { name: "Add CORS rule" }).click()
    await page.getByLabel("Rule 1 allowed origins").fill("https://app.example.com\nhttps://*.example.org")
    await page.getByRole("group", { name: "Rule 1 allowed methods" }).getByLabel("PUT").check()
    await page.getByLabel("Rule 1 allowed request headers").fill("content-type")
    await page.getByLabel("Rule 1 headers the page may read").fill("etag")
    await page.getByLabel("Rule 1 max age in seconds").fill("600")
    await page.getByRole("button", { name: "Save CORS rules" }).click()
    await page.getByText("Saved 1 CORS rule.").waitFor()
    await shot(page, "bucket-settings")
    expect((await s3.send(new GetBucketCorsCommand({ Bucket: "photos" }))).CORSRules).toEqual([{
      AllowedOrigins: ["https://app.example.com", "https://*.example.org"],
      AllowedMethods: ["GET", "PUT"],
      AllowedHeaders: ["content-type"],
      ExposeHeaders: ["etag"],
      MaxAgeSeconds: 600
    }])
    // The rule answers a browser's preflight on the S3 listener.
    const preflight = await fetch(`http://127.0.0.1:${cluster.nodes[0]!.s3Port}/photos/x`, {
      method: "OPTIONS",
      headers: { origin: "https://eu.example.org", "access-control-request-method": "PUT", "access-control-request-headers": "content-type" }
    })
    expect([preflight.status, preflight.headers.get("access-control-allow-origin")]).toEqual([200, "https://eu.example.org"])

    // Refusals: a tag with no key, a max age that is not a number; what is stored stays as it was.
    await page.getByRole("button", { name: "Add tag" }).click()
    await page.getByLabel("Tag 3 value").fill("orphan")
    await page.getByRole("button", { name: "Save tags" }).click()
    await page.getByRole("alert").filter({ hasText: "The TagKey you have provided is invalid" }).filter({ hasText: "50 on a bucket" }).waitFor()
    await page.getByLabel("Rule 1 max age in seconds").fill("soon")
    await page.getByRole("button", { name: "Save CORS rules" }).click()
    await page.getByRole("alert").filter({ hasText: "MaxAgeSeconds must be a whole number" }).filter({ hasText: "Each rule needs at least one allowed origin" }).waitFor()
    await shot(page, "bucket-settings-refused")
    expect((await s3.send(new GetBucketCorsCommand({ Bucket: "photos" }))).CORSRules?.[0]?.MaxAgeSeconds).toBe(600)
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: "photos" }))).TagSet).toHaveLength(2)

    await page.getByRole("button", { name: "Delete CORS configuration" }).click()
    await page.getByText("Removed the CORS configuration.").waitFor()
    await expect(s3.send(new GetBucketCorsCommand({ Bucket: "photos" }))).rejects.toMatchObject({ name: "NoSuchCORSConfiguration" })
    for (const n of [3, 2, 1]) await page.getByRole("button", { name: `Remove tag ${n}` }).click()
    await page.getByRole("button", { name: "Save tags" }).click()
    await page.getByText("Removed every tag.").waitFor()
    await expect(s3.send(new GetBucketTaggingCommand({ Bucket: "photos" }))).rejects.toMatchObject({ name: "NoSuchTagSet" })
  })

  it("deletes an object from its page: a delete marker in a versioned bucket, its versions kept", async () => {
    await page.goto(`${consoleUrl(0)}#/o/photos?key=docs%2Freport.json`)
    await page.getByRole("button", { name: "Delete report.json…" }).click()
    await page.getByRole("group", { name: "Confirm deleting report.json" }).getByRole("button", { name: "Delete", exact: true }).click()
    await page.getByText("Deleted report.json.").waitFor()
    await page.getByText("report.json has no current version").waitFor()
    const versions = page.getByRole("region", { name: "Versions" })
    await versions.getByText("delete marker").waitFor()
    expect(await versions.getByRole("rowheader").count()).toBe(2)
    await s3.send(new HeadObjectCommand({ Bucket: "photos", Key: "docs/report.json" })).then(
      () => expect.fail("the deleted key still has a current version"),
      (e: { readonly name: string }) => expect(e.name).toBe("NotFound")
    )
  })

  it("adds a user, showing the secret once", async () => {
    await page.getByRole("link", { name: "Users" }).click()
    await page.getByLabel("User name").fill("alice")
    await page.getByRole("button", { name: "Add key" }).click()
    const secret = await page.getByTestId("new-secret-key").textContent()
    const accessKey = await page.getByTestId("new-access-key").textContent()
    await page.getByRole("rowheader", { name: accessKey! }).waitFor()
    await shot(page, "users")
    // The new key works against S3 at once: it is a real key of the user store.
    const alice = new S3Client({ endpoint: `http://127.0.0.1:${cluster.nodes[1]!.s3Port}`, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: accessKey!, secretAccessKey: secret! } })
    await alice.send(new PutObjectCommand({ Bucket: "alice-bucket-does-not-exist", Key: "x", Body: "x" })).then(
      () => expect.fail("a PUT to a missing bucket succeeded"),
      (e: { readonly name: string }) => expect(e.name).toBe("NoSuchBucket")
    )
    await page.getByRole("button", { name: "I have stored it" }).click()
    expect(await page.getByTestId("new-secret-key").count()).toBe(0)
  })

  it("creates a topic, and shows its partitions and the records produced to it", async () => {
    await page.getByRole("link", { name: "Topics", exact: true }).click()
    await page.getByLabel("New topic").fill("events")
    await page.getByLabel("Partitions").fill("2")
    await page.getByRole("button", { name: "Create topic" }).click()
    await page.getByRole("link", { name: "events" }).waitFor()
    // Produced through another node's log API; a topic just created answers 503 while its replicas start.
    const node = cluster.nodes[1]!
    const produce = () =>
      fetch(`http://127.0.0.1:${node.apiPort}/v1/log/topics/events/partitions/1/records`, {
        method: "POST",
        headers: { ...apiHeaders(CREDENTIALS), "content-type": "application/json" },
        body: JSON.stringify({ records: [{ key: "k1", value: "hello from the test" }] }),
        signal: AbortSignal.timeout(15_000)
      })
    let status = 0
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = (await produce()).status
      if (status !== 200) await sleep(500)
    }
    expect(status).toBe(200)
    await page.getByRole("link", { name: "events" }).click()
    await page.getByRole("heading", { name: "Topic events", level: 1 }).waitFor()
    await page.getByRole("button", { name: "Show the newest records of partition 1" }).click()
    await page.getByRole("table", { name: "Newest records of events/1" }).getByText("hello from the test").waitFor()
    await shot(page, "topic")
  })

  it("produces a record by key from a topic's page, with a header, and shows the offset it got", async () => {
    // A key Kafka's partitioner puts in partition 0 (partition 1 already holds the record produced above).
    const key = ["order-1", "order-2", "order-3", "order-4", "order-5"].find((k) => partitionForKey(new TextEncoder().encode(k), 2) === 0)!
    await page.getByLabel("Partition", { exact: true }).selectOption({ label: "By key (Kafka's partitioner)" })
    await page.getByLabel("Key", { exact: true }).fill(key)
    await page.getByLabel("Value", { exact: true }).fill("produced from the page")
    await page.getByLabel("Headers (optional, one name=value a line)").fill("source=console")
    await page.getByRole("button", { name: "Produce", exact: true }).click()
    await page.getByText("Produced to partition 0 at offset 0.").waitFor()
    // A record without a key needs a partition: the page says so before asking the node.
    await page.getByLabel("Key", { exact: true }).fill("")
    await page.getByRole("button", { name: "Produce", exact: true }).click()
    await page.getByText("Give a key, or choose a partition").waitFor()
    await page.getByRole("button", { name: "Show the newest records of partition 0" }).click()
    const newest = page.getByRole("table", { name: "Newest records of events/0" })
    await newest.getByText("produced from the page").waitFor()
    await newest.getByText("source=console").waitFor()
  })

  it("shows consumer groups with their members, committed offsets, high watermarks and lag", async () => {
    const bootstrap = `127.0.0.1:${cluster.nodes[0]!.kafkaPort}`
    const kcat = (args: ReadonlyArray<string>) => {
      const child = spawn(KCAT, ["-b", bootstrap, "-G", "billing", "-X", "client.id=billing-app", "-X", "session.timeout.ms=10000", "-X", "auto.offset.reset=earliest", "-q", ...args, "events"], { detached: true, stdio: "ignore" })
      consumers.add(child)
      return child
    }
    const logApi = `http://127.0.0.1:${cluster.nodes[1]!.apiPort}/v1/log/topics/events/partitions`
    const end = async (p: number) => (await (await fetch(`${logApi}/${p}/records?maxBytes=1`, { headers: apiHeaders(CREDENTIALS) })).json() as { readonly highWatermark: number }).highWatermark
    const [end0, end1] = [await end(0), await end(1)]
    try {
      // One consumer reads every record and leaves, committing where each partition ends.
      const first = kcat(["-c", String(end0 + end1)])
      const exited = new Promise<void>((resolve) => (first.exitCode !== null ? resolve() : first.once("exit", () => resolve())))
      await Promise.race([exited, sleep(120_000)])
      expect(first.exitCode).toBe(0)
      // A second stays in the group and commits nothing; three more records make a lag of 3 on partition 1.
      kcat(["-X", "enable.auto.commit=false"])
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${logApi}/1/records`, {
          method: "POST",
          headers: { ...apiHeaders(CREDENTIALS), "content-type": "application/json" },
          body: JSON.stringify({ records: [{ value: `later ${i}` }] })
        })
        expect(res.status).toBe(200)
      }
      await page.getByRole("link", { name: "Groups", exact: true }).click()
      await page.getByRole("heading", { name: "Consumer groups", level: 1 }).waitFor()
      // The member's join shows once its rebalance completes: reload until the group is Stable with a member.
      await expect.poll(async () => {
        await page.getByRole("button", { name: "Refresh" }).click()
        return page.getByRole("row", { name: /^billing Stable \S+ 1 \d+ events 3$/ }).count()
      }, POLL).toBe(1)
      await shot(page, "groups")
      await page.getByRole("link", { name: "billing" }).click()
      await page.getByRole("heading", { name: "Group billing", level: 1 }).waitFor()
      const members = page.getByRole("table", { name: "Members of billing" })
      await members.getByText("billing-app", { exact: true }).waitFor()
      await members.getByText("events: 0, 1").waitFor()
      // Cells after the partition: topic, committed offset, high watermark, lag, member.
      const cells = (p: number) => page.getByTestId(`lag-events-${p}`).locator("td").allTextContents()
      expect((await cells(1)).slice(0, 4)).toEqual(["events", String(end1), String(end1 + 3), "3"])
      expect((await cells(0)).slice(0, 4)).toEqual(["events", String(end0), String(end0), "0"])
      await shot(page, "group")
      // The topic's page lists its readers with their lag on it.
      await page.getByRole("table", { name: "Offsets and lag of billing" }).getByRole("link", { name: "events" }).first().click()
      await page.getByRole("heading", { name: "Topic events", level: 1 }).waitFor()
      await page.getByTestId("topic-lag-billing").filter({ hasText: "3" }).waitFor()
      await shot(page, "topic-groups")
    } finally {
      await stopConsumers()
    }
  })

  it("changes a topic's retention and grows its partitions from its page, and explains a refusal", async () => {
    await page.getByLabel("Retention by age", { exact: true }).fill("7")
    await page.getByLabel("Retention by age: unit").selectOption("days")
    await page.getByRole("button", { name: "Save retention" }).click()
    await page.getByText("Saved the retention").waitFor()
    await page.locator("dl.facts").getByText("7 d", { exact: true }).waitFor()
    const described = await (await fetch(`http://127.0.0.1:${cluster.nodes[2]!.apiPort}/v1/log/topics/events`, { headers: apiHeaders(CREDENTIALS) })).json() as { readonly retentionMs?: number }
    expect(described.retentionMs).toBe(7 * 86_400_000)
    await page.getByLabel("Partitions", { exact: true }).fill("3")
    await page.getByRole("button", { name: "Grow partitions" }).click()
    await page.getByText("events has 3 partitions.").waitFor()
    await page.getByRole("button", { name: "Show the newest records of partition 2" }).waitFor()
    // Partitions never shrink: the node's refusal is shown as it gave it.
    await page.getByLabel("Partitions", { exact: true }).fill("2")
    await page.getByRole("button", { name: "Grow partitions" }).click()
    await page.getByText("events has 3 partitions; it can only grow").waitFor()
    await shot(page, "topic-settings")
  })

  it("deletes an Empty consumer group and its offsets from the group's page", async () => {
    const api = `http://127.0.0.1:${cluster.nodes[1]!.apiPort}/v1/log/groups/old-readers`
    // A group known by one offset committed through the log API: Empty, no members.
    const committed = await fetch(`${api}/offsets/events/0`, { method: "PUT", headers: { ...apiHeaders(CREDENTIALS), "content-type": "application/json" }, body: JSON.stringify({ offset: 1 }) })
    expect(committed.status).toBe(200)
    await page.goto(`${consoleUrl(0)}#/g/old-readers`)
    await page.getByRole("heading", { name: "Group old-readers", level: 1 }).waitFor()
    await page.getByRole("button", { name: "Delete group…" }).click()
    await page.getByRole("group", { name: "Confirm deleting group old-readers" }).getByRole("button", { name: "Delete", exact: true }).click()
    await page.getByText("Deleted group old-readers and its 1 committed offset.").waitFor()
    expect((await fetch(api, { headers: apiHeaders(CREDENTIALS) })).status).toBe(404)
  })

  it("refuses a change without the session's CSRF token", async () => {
    const status = await page.evaluate(async () => (await fetch("/api/s3/csrf-probe", { method: "PUT" })).status)
    expect(status).toBe(403)
    const buckets = await page.evaluate(async () => await (await fetch("/api/s3/")).text())
    expect(buckets).not.toContain("csrf-probe")
  })

  it("shows the erasure scheme, each member's disk, repair and GC, and charts of this node's metrics", async () => {
    await page.getByRole("link", { name: "Cluster" }).click()
    // 3 nodes: the default scheme, fixed when the first object was written.
    await page.getByTestId("erasure-scheme").filter({ hasText: "2+1" }).waitFor()
    for (const n of cluster.nodes) await page.getByTestId(`free-${n.id}`).filter({ hasText: / free$/ }).waitFor()
    expect(await page.getByRole("meter", { name: /^Disk of n1 \d+% used$/ }).count()).toBe(1)
    // The node samples every 5 s from its start; by now this walk has made S3 requests and Raft commits.
    await page.getByRole("img", { name: /^S3 requests\/s: now / }).waitFor()
    await page.getByRole("img", { name: /^Raft commits\/s: now / }).waitFor()
    expect(await page.getByTestId("chart-S3 requests/s").locator("path").getAttribute("d")).toMatch(/^M[\d.]+,[\d.]+L/)
    await page.getByLabel("Range").selectOption({ label: "Last 5 minutes" })
    await page.getByRole("img", { name: /^S3 requests\/s: now .* in the last 5 minutes$/ }).waitFor()
    await shot(page, "cluster-storage-metrics")
  })

  it("shows each member's disk backend and its role in every Raft group, and S3 requests/s by operation", async () => {
    await page.getByRole("link", { name: "Cluster" }).click()
    // Each member says which Disk it runs on, as its /v1/status and cairn_disk_backend report it.
    for (const n of cluster.nodes) await page.getByTestId(`disk-${n.id}`).filter({ hasText: /^(io_uring|libuv)$/ }).waitFor()
    const own = await (await fetch(`http://127.0.0.1:${cluster.nodes[0]!.apiPort}/v1/status`, { headers: apiHeaders(CREDENTIALS) })).json() as { disk: string; groups: ReadonlyArray<{ group: string; role: string }> }
    expect(await page.getByTestId("disk-n1").textContent()).toBe(own.disk)
    // The KV's group and the partitions of the topic made and grown above: the members lead some and follow the rest.
    await page.getByTestId("groups-n1").filter({ hasText: /leads \d+ · follows \d+/ }).waitFor()
    const leads = async () => {
      let sum = 0
      for (const n of cluster.nodes) sum += Number(/leads (\d+)/.exec((await page.getByTestId(`groups-${n.id}`).textContent()) ?? "")?.[1] ?? 0)
      return sum
    }
    // Every group has one leader once elections settle: the KV's and each partition's, wherever their replicas are.
    const everyGroup = new Set<string>()
    for (const n of cluster.nodes) {
      const status = await (await fetch(`http://127.0.0.1:${n.apiPort}/v1/status`, { headers: apiHeaders(CREDENTIALS) })).json() as { groups: ReadonlyArray<{ group: string; name: string }> }
      for (const g of status.groups) everyGroup.add(g.name)
    }
    // The KV's group and the topic's three partitions (made with two, grown to three above).
    expect([...everyGroup].sort()).toEqual(["events/0", "events/1", "events/2", "kv"])
    await expect.poll(leads, POLL).toBe(everyGroup.size)
    await page.getByTestId("groups-n1").click()
    const table = page.getByRole("table", { name: "Raft groups of n1" })
    await table.locator("tr[data-group=kv]").getByRole("rowheader", { name: "kv (metadata)" }).waitFor()
    expect(await table.locator("tbody tr").count()).toBe(own.groups.length)
    // A partition's group is called by its topic and partition, not by its id.
    await table.getByRole("rowheader", { name: "events/0" }).waitFor()
    expect(await page.getByTestId("groups-n1").getAttribute("aria-expanded")).toBe("true")
    await page.getByTestId("rebalance").filter({ hasText: /^Rebalancing: / }).waitFor()
    await shot(page, "cluster-raft-groups")
    // The split chart: a line and a legend entry per busiest S3 operation of this node, busiest first.
    const byOperation = page.getByTestId("chart-S3 requests/s by operation")
    await byOperation.getByRole("img", { name: /^S3 requests\/s by operation, busiest first over the last .*: \w+ now / }).waitFor()
    expect(await byOperation.getByRole("listitem").count()).toBeGreaterThanOrEqual(1)
    expect(await byOperation.locator("path.line-0").getAttribute("d")).toMatch(/^M[\d.]+,[\d.]+/)
    await byOperation.screenshot({ path: join(shots, "cluster-requests-by-operation.png") })
    // Every node's charts on this one page: n2's and n3's histories, asked of their KV APIs by n1's console.
    await page.getByLabel("Charts of").selectOption({ label: "every node" })
    for (const id of ["n2", "n3"]) {
      const charts = page.getByTestId(`charts-${id}`)
      await charts.getByRole("heading", { name: `Metrics of node ${id}` }).waitFor()
      await charts.getByRole("img", { name: /^Raft commits\/s: now / }).waitFor()
    }
    await page.getByTestId("charts-self").getByRole("heading", { name: "Metrics of node n1" }).waitFor()
    await shot(page, "cluster-every-node-charts")
    await page.getByLabel("Charts of").selectOption({ label: "this node (n1)" })
    await page.getByTestId("charts-n2").waitFor({ state: "detached" })
  })

  it("lists each user's buckets on the Users page", async () => {
    const made = await (await fetch(`http://127.0.0.1:${cluster.nodes[0]!.apiPort}/v1/admin/s3/users`, {
      method: "POST",
      headers: { ...apiHeaders(CREDENTIALS), "content-type": "application/json" },
      body: JSON.stringify({ user: "bob" })
    })).json() as { accessKey: string; secretKey: string }
    const bob = new S3Client({ endpoint: `http://127.0.0.1:${cluster.nodes[0]!.s3Port}`, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: made.accessKey, secretAccessKey: made.secretKey } })
    await bob.send(new CreateBucketCommand({ Bucket: "bobs-bucket" }))
    await page.getByRole("link", { name: "Users" }).click()
    await page.getByTestId("owns-bob").getByRole("link", { name: "bobs-bucket" }).waitFor()
    // The admin's own bucket from the start of this walk, and not bob's among them; alice, with a key and no bucket, owns none.
    await page.getByTestId("owns-admin").getByRole("link", { name: "photos" }).waitFor()
    expect(await page.getByTestId("owns-admin").getByRole("link", { name: "bobs-bucket" }).count()).toBe(0)
    expect(await page.getByTestId("owns-alice").textContent()).toBe("none")
    await page.locator("tr[data-user=admin]").getByText("every bucket (admin)").waitFor()
    await shot(page, "users-buckets")
  })

  it("lists the reports folder's Jepsen and simulation reports and opens one sandboxed", async () => {
    writeReport(join(dir, "reports", "jepsen-console-demo"), {
      title: "cairn jepsen demo: valid",
      history: [{ index: 0, process: 0, type: "invoke", f: "write", value: 1, time: 0 }, { index: 1, process: 0, type: "ok", f: "write", value: 1, time: 5 }],
      verdicts: [{ checker: "linearizability", verdict: "valid", detail: "2 operations" }]
    })
    writeFileSync(join(dir, "reports", "jepsen-console-demo", "summary.json"), JSON.stringify({ valid: true }))
    await page.getByRole("link", { name: "Reports" }).click()
    const link = page.getByRole("link", { name: "cairn jepsen demo: valid" })
    await link.waitFor()
    await page.getByRole("link", { name: "summary.json" }).waitFor()
    await shot(page, "reports")
    const [report] = await Promise.all([page.context().waitForEvent("page"), link.click()])
    await report.getByText("cairn jepsen demo: valid").first().waitFor()
    // Served under its own sandbox policy: the report runs in an opaque origin, away from the console's session.
    expect(await report.evaluate(() => (globalThis as unknown as { origin: string }).origin)).toBe("null")
    await report.close()
  })

  it("shows a node going down and coming back on the cluster page", async () => {
    await page.getByRole("link", { name: "Cluster" }).click()
    await page.getByText("3 of 3 members healthy").waitFor()
    await shot(page, "cluster-healthy")
    const n3 = cluster.nodes[2]!
    await killNode(n3.id)
    await page.getByTestId("health-n3").filter({ hasText: "unreachable" }).waitFor()
    await page.getByText("2 of 3 members healthy").waitFor()
    await shot(page, "cluster-node-down")
    startNode(cluster, n3, consolePorts[2]!)
    await page.getByText("3 of 3 members healthy").waitFor()
    await shot(page, "cluster-node-back")
    await page.emulateMedia({ colorScheme: "dark" })
    await shot(page, "cluster-dark")
    await page.emulateMedia({ colorScheme: "light" })
  })

  it("fits a phone's width (390×844) on every main page: no sideways scrolling", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    const overflow = () => page.evaluate(() => {
      const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document
      return doc.documentElement.scrollWidth - doc.documentElement.clientWidth
    })
    // The check can fail: a page made wider than the screen is caught.
    await page.goto(`${consoleUrl(0)}#/buckets`)
    await page.getByRole("heading", { name: "Buckets", level: 1 }).waitFor()
    // Through the CSSOM: the page's CSP refuses inline style attributes.
    await page.evaluate("(() => { const d = document.createElement('div'); d.id = 'too-wide'; d.style.width = '1000px'; d.textContent = 'x'; document.body.append(d) })()")
    expect(await overflow()).toBeGreaterThan(0)
    await page.evaluate("document.getElementById('too-wide').remove()")
    const pages: ReadonlyArray<readonly [string, string, string]> = [
      ["buckets", "#/buckets", "Buckets"],
      ["objects", "#/b/photos?prefix=", "photos"],
      ["folder", "#/b/photos?prefix=many%2F", "photos"],
      ["object", "#/o/photos?key=docs%2Flong.log", "long.log"],
      ["versions", "#/v/photos?key=note.txt", "Versions of note.txt"],
      ["users", "#/users", "Users and keys"],
      ["reports", "#/reports", "Reports"],
      ["topics", "#/topics", "Topics"],
      ["topic", "#/t/events", "Topic events"],
      ["groups", "#/groups", "Consumer groups"],
      ["group", "#/g/billing", "Group billing"],
      ["cluster", "#/cluster", "Cluster"]
    ]
    for (const [name, hash, heading] of pages) {
      await page.goto(`${consoleUrl(0)}${hash}`)
      await page.getByRole("heading", { name: heading, level: 1 }).waitFor()
      await page.getByText("Loading…", { exact: true }).first().waitFor({ state: "detached" })
      expect([name, await overflow()]).toEqual([name, 0])
      await shot(page, `phone-${name}`)
    }
    await page.setViewportSize({ width: 1200, height: 800 })
  })

  it("signs out, and the old session no longer works", async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByText("You are signed out.").waitFor()
    const status = await page.evaluate(async () => (await fetch("/api/s3/")).status)
    expect(status).toBe(401)
    // Another node's console knows nothing of this session: sessions are per node.
    await page.goto(consoleUrl(1))
    await page.getByLabel("Access key").waitFor()
  })

  // Last: signing in on another node's console replaces the cookie the earlier steps used (cookies ignore ports).
  it("drains a member and stops draining it from a follower's console, the change sent on to the leader", async () => {
    const leader = await leaderOf(cluster.nodes)
    const at = cluster.nodes.findIndex((n) => n.id !== leader)
    const target = cluster.nodes.find((n, i) => i !== at && n.id !== leader)!.id
    await page.goto(consoleUrl(at))
    await page.getByLabel("Access key").fill(CREDENTIALS.accessKey)
    await page.getByLabel("Secret key").fill(CREDENTIALS.secretKey)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("link", { name: "Cluster" }).click()
    await page.getByText("3 of 3 members healthy").waitFor()
    await page.getByRole("button", { name: `Drain ${target}` }).click()
    await page.getByRole("status").filter({ hasText: `Draining ${target}: its shards move to the other members.` }).waitFor()
    await page.getByTestId(`membership-${target}`).filter({ hasText: "draining" }).waitFor()
    await shot(page, "cluster-draining")
    await page.getByRole("button", { name: `Stop draining ${target}` }).click()
    await page.getByTestId(`membership-${target}`).filter({ hasNotText: "draining" }).waitFor()
    // Removing asks twice; cancelled here, the member stays.
    await page.getByRole("button", { name: `Remove ${target}…` }).click()
    await page.getByRole("group", { name: `Confirm removing ${target}` }).getByRole("button", { name: "Cancel" }).click()
    await page.getByRole("button", { name: `Remove ${target}…` }).waitFor()
    await page.getByText("3 of 3 members healthy").waitFor()
  })
})
