/**
 * Interoperability with three more real S3 clients, against a `cairn server`
 * child process: rclone and restic (Go, aws-sdk-go and minio-go, whose XML
 * writes quotes as `&#34;`) and s3cmd (Python, which reads ACLs for `info`
 * and writes them for `setacl`). Each is configured as docs/s3.md tells
 * users to, with path-style addressing and no retries (a failure must fail
 * the test, not be retried into a pass); every step checks the client's exit
 * code and the bytes that came back.
 *
 * The clients are Debian packages (`rclone`, `restic`, `s3cmd`), installed
 * by .ci/run; where one is missing its test fails and says so. Other
 * installs can be named with CAIRN_TEST_RCLONE, CAIRN_TEST_RESTIC and
 * CAIRN_TEST_S3CMD.
 */
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { patternBytes } from "./pattern.test-support.ts"
import { type Ran, runClient } from "./run-client.test-support.ts"
import { PROCESS_ADMIN, startServerProcess, type ServerProcess } from "./server-process.test-support.ts"
import { signRequest } from "./sign-request.ts"

const RCLONE = process.env.CAIRN_TEST_RCLONE ?? "/usr/bin/rclone"
const RESTIC = process.env.CAIRN_TEST_RESTIC ?? "/usr/bin/restic"
const S3CMD = process.env.CAIRN_TEST_S3CMD ?? "/usr/bin/s3cmd"
const MiB = 1024 * 1024

let server: ServerProcess
let dir: string

/** Only what the clients need: none of this machine's proxies, CA bundles (rclone refuses AWS_CA_BUNDLE over http) or credentials. */
const baseEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, LANG: "C.UTF-8", LC_ALL: "C.UTF-8" })

/** Fails the test with the client's own words unless it exited 0. */
const ok = (what: string, r: Ran): Ran => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}${r.stdout}`)
  return r
}

/** A HEAD of the object, signed by the admin: its status and ETag. */
const headObject = async (bucket: string, key: string): Promise<{ status: number; etag: string | null }> => {
  const url = new URL(`${server.endpoint}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`)
  const headers = signRequest({ ...PROCESS_ADMIN, region: "us-east-1" }, { method: "HEAD", url })
  const r = await fetch(url, { method: "HEAD", headers })
  return { status: r.status, etag: r.headers.get("etag") }
}

const md5 = (data: Uint8Array) => createHash("md5").update(data).digest()

/** S3's ETag of `data` uploaded in `partSize` parts. */
const multipartEtag = (data: Buffer, partSize: number): string => {
  const digests: Array<Buffer> = []
  for (let at = 0; at < data.length; at += partSize) digests.push(md5(data.subarray(at, at + partSize)))
  return `"${md5(Buffer.concat(digests)).toString("hex")}-${digests.length}"`
}

/** Writes `files` (relative name → content) under `root`. */
const writeTree = (root: string, files: Record<string, Buffer | string>) => {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(root, name, ".."), { recursive: true })
    writeFileSync(join(root, name), content)
  }
}

const expectSameTree = (root: string, files: Record<string, Buffer | string>) => {
  for (const [name, content] of Object.entries(files)) expect([name, readFileSync(join(root, name)).equals(Buffer.from(content))]).toEqual([name, true])
}

const lines = (text: string, prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix))

const installHint = "Run .ci/run (CI installs Debian's rclone, restic and s3cmd with apt-get), or `apt-get install rclone restic s3cmd`."

/** The client's version line; fails the test, saying how to install it, when the client is missing. */
const versionOf = async (file: string, args: ReadonlyArray<string>): Promise<string> => {
  const r = await runClient(file, args, baseEnv())
  if (r.code !== 0) throw new Error(`${file} is not usable (exit ${r.code}): ${r.stderr.trim()}. ${installHint}`)
  return `${r.stdout}${r.stderr}`.trim().split("\n")[0]!
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cairn-more-clients-"))
  server = await startServerProcess()
})

afterAll(async () => {
  await server?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe("rclone", () => {
  const rclone = (...args: ReadonlyArray<string>) =>
    runClient(RCLONE, ["--config", join(dir, "rclone.conf"), "--retries", "1", "--low-level-retries", "1", ...args], baseEnv())

  it("mkdir, multipart copy in 5 MiB chunks, check, multipart server-side copy, cat --offset/--count, sync with a deletion, copy back, purge", async () => {
    expect(await versionOf(RCLONE, ["version"])).toMatch(/^rclone v/)
    writeFileSync(
      join(dir, "rclone.conf"),
      `[cairn]\ntype = s3\nprovider = Other\naccess_key_id = ${PROCESS_ADMIN.accessKey}\nsecret_access_key = ${PROCESS_ADMIN.secretKey}\n` +
        `endpoint = ${server.endpoint}\nregion = us-east-1\nforce_path_style = true\n`
    )
    const big = patternBytes(12 * MiB + 1234, 11)
    const files = { "big.bin": big, "a.txt": "a", "it's.txt": "quote", "sub/ü b.txt": "unicode" }
    const tree = join(dir, "rclone-tree")
    writeTree(tree, files)

    ok("rclone mkdir", await rclone("mkdir", "cairn:rclone-test"))
    // Above the 5 MiB cutoff rclone uploads in 5 MiB parts and completes with Go's XML (ETags quoted as &#34;).
    ok("rclone copy", await rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", tree, "cairn:rclone-test/tree"))
    expect(await headObject("rclone-test", "tree/big.bin")).toEqual({ status: 200, etag: multipartEtag(big, 5 * MiB) })
    const check = ok("rclone check", await rclone("check", tree, "cairn:rclone-test/tree"))
    expect(check.stderr).toContain("0 differences found")
    expect(check.stderr).toContain("4 matching files")

    // Above the copy cutoff, a server-side copy is UploadPartCopy of 5 MiB source ranges.
    ok("rclone copyto (server-side)", await rclone("copyto", "--s3-copy-cutoff", "5M", "cairn:rclone-test/tree/big.bin", "cairn:rclone-test/copy.bin"))
    expect(await headObject("rclone-test", "copy.bin")).toEqual({ status: 200, etag: multipartEtag(big, 5 * MiB) })
    // A range across the first part boundary, of the copy.
    const cat = ok("rclone cat", await rclone("cat", "--offset", String(5 * MiB - 10), "--count", "20", "cairn:rclone-test/copy.bin"))
    expect(cat.stdoutBytes.equals(big.subarray(5 * MiB - 10, 5 * MiB + 10))).toBe(true)

    // sync deletes what is gone locally.
    rmSync(join(tree, "a.txt"))
    const { "a.txt": _removed, ...kept } = files
    ok("rclone sync", await rclone("sync", tree, "cairn:rclone-test/tree"))
    expect(ok("rclone lsf", await rclone("lsf", "-R", "--files-only", "cairn:rclone-test/tree")).stdout.split("\n").filter((l) => l !== "").sort()).toEqual(Object.keys(kept).sort())
    expect(ok("rclone check after sync", await rclone("check", tree, "cairn:rclone-test/tree")).stderr).toContain("3 matching files")

    const back = join(dir, "rclone-back")
    ok("rclone copy back", await rclone("copy", "cairn:rclone-test/tree", back))
    expectSameTree(back, kept)

    ok("rclone purge", await rclone("purge", "cairn:rclone-test"))
    expect(ok("rclone lsd", await rclone("lsd", "cairn:")).stdout).not.toContain("rclone-test")
  })
})

describe("restic", () => {
  it("init, backup twice, forget --prune, check --read-data, restore byte for byte", async () => {
    expect(await versionOf(RESTIC, ["version"])).toMatch(/^restic \d/)
    const env = {
      ...baseEnv(),
      AWS_ACCESS_KEY_ID: PROCESS_ADMIN.accessKey,
      AWS_SECRET_ACCESS_KEY: PROCESS_ADMIN.secretKey,
      RESTIC_PASSWORD: "correct horse battery staple",
      RESTIC_REPOSITORY: `s3:${server.endpoint}/restic-test`,
      RESTIC_CACHE_DIR: join(dir, "restic-cache")
    }
    const restic = (...args: ReadonlyArray<string>) => runClient(RESTIC, args, env)
    const source = join(dir, "restic-source")
    const files = { "photo.raw": patternBytes(6 * MiB + 77, 12), "notes.txt": "restic over cairn\n", "deep/dir/it's.txt": "nested", "empty": "" }
    writeTree(source, files)

    ok("restic init", await restic("init"))
    const backup = ok("restic backup", await restic("backup", "--host", "cairn-test", source))
    expect(backup.stdout).toMatch(/snapshot [0-9a-f]{8} saved/)
    // A second snapshot with one file changed and one added; pruning the first deletes packs only it used.
    const second = { ...files, "notes.txt": "changed\n", "more.bin": patternBytes(3 * MiB, 14) }
    writeTree(source, second)
    ok("restic backup (second)", await restic("backup", "--host", "cairn-test", source))
    ok("restic forget --prune", await restic("forget", "--keep-last", "1", "--prune"))
    const snapshots = JSON.parse(ok("restic snapshots", await restic("snapshots", "--json")).stdout) as Array<{ paths: Array<string> }>
    expect(snapshots.map((s) => s.paths)).toEqual([[source]])
    // Reads every pack back from Cairn and verifies its hashes.
    expect(ok("restic check", await restic("check", "--read-data")).stdout).toContain("no errors were found")

    const target = join(dir, "restic-restored")
    ok("restic restore", await restic("restore", "latest", "--target", target))
    expectSameTree(join(target, source), second)
  })
})

describe("s3cmd", () => {
  const s3cmd = (...args: ReadonlyArray<string>) => runClient(S3CMD, ["-c", join(dir, "s3cfg"), "--no-ssl", ...args], baseEnv())

  it("mb, multipart put, get, info (reads ?acl), setacl, sync twice, recursive delete, rb", async () => {
    expect(await versionOf(S3CMD, ["--version"])).toMatch(/^s3cmd version/)
    const host = new URL(server.endpoint).host
    // host_bucket without %(bucket)s: path-style requests.
    writeFileSync(
      join(dir, "s3cfg"),
      `[default]\naccess_key = ${PROCESS_ADMIN.accessKey}\nsecret_key = ${PROCESS_ADMIN.secretKey}\nhost_base = ${host}\nhost_bucket = ${host}\n` +
        "bucket_location = us-east-1\nuse_https = False\nsignature_v2 = False\n"
    )
    const big = patternBytes(12 * MiB + 4321, 13)
    writeFileSync(join(dir, "s3cmd-big.bin"), big)
    writeFileSync(join(dir, "s3cmd-small.txt"), "it's small")

    ok("s3cmd mb", await s3cmd("mb", "s3://s3cmd-test"))
    ok("s3cmd put (multipart)", await s3cmd("put", "--multipart-chunk-size-mb=5", join(dir, "s3cmd-big.bin"), "s3://s3cmd-test/big.bin"))
    expect(await headObject("s3cmd-test", "big.bin")).toEqual({ status: 200, etag: multipartEtag(big, 5 * MiB) })
    ok("s3cmd put", await s3cmd("put", join(dir, "s3cmd-small.txt"), "s3://s3cmd-test/it's small.txt"))
    ok("s3cmd get", await s3cmd("get", "--force", "s3://s3cmd-test/big.bin", join(dir, "s3cmd-big.down")))
    expect(readFileSync(join(dir, "s3cmd-big.down")).equals(big)).toBe(true)

    const objectInfo = ok("s3cmd info object", await s3cmd("info", "s3://s3cmd-test/big.bin")).stdout
    expect(objectInfo).toMatch(/ACL: +admin: FULL_CONTROL/)
    expect(objectInfo).toMatch(new RegExp(`File size: +${big.length}`))
    expect(ok("s3cmd info bucket", await s3cmd("info", "s3://s3cmd-test")).stdout).toMatch(/ACL: +admin: FULL_CONTROL/)
    ok("s3cmd setacl --acl-private", await s3cmd("setacl", "--acl-private", "s3://s3cmd-test/big.bin"))
    const shared = await s3cmd("setacl", "--acl-public", "s3://s3cmd-test/big.bin")
    expect(shared.code).not.toBe(0)
    expect(shared.stderr).toContain("403 (AccessDenied): Public and shared ACLs are not supported")

    const tree = join(dir, "s3cmd-tree")
    const files = { "a.txt": "a", "sub/b.txt": "bb", "sub/ü c.txt": "ccc" }
    writeTree(tree, files)
    expect(lines(ok("s3cmd sync", await s3cmd("sync", `${tree}/`, "s3://s3cmd-test/synced/")).stdout, "upload:")).toHaveLength(3)
    // The second sync finds every file there, same size and MD5 (the listing's ETag): nothing to upload.
    const again = ok("s3cmd sync again", await s3cmd("sync", `${tree}/`, "s3://s3cmd-test/synced/"))
    expect(lines(again.stdout, "upload:")).toEqual([])
    const back = join(dir, "s3cmd-back")
    ok("s3cmd sync down", await s3cmd("sync", "s3://s3cmd-test/synced/", `${back}/`))
    expectSameTree(back, files)

    const deleted = ok("s3cmd del --recursive", await s3cmd("del", "--recursive", "--force", "s3://s3cmd-test"))
    expect(lines(deleted.stdout, "delete:")).toHaveLength(5)
    ok("s3cmd rb", await s3cmd("rb", "s3://s3cmd-test"))
    expect(ok("s3cmd ls", await s3cmd("ls")).stdout).not.toContain("s3cmd-test")
  })
})
