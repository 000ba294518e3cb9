/**
 * The data directory at start, in this process: the lock (abstract socket
 * and pid-file fallback), the bounded mkdir -p, and every kind of unusable
 * directory this machine can make (a read-only and a full tmpfs need root
 * and mount(2); those cases skip, saying so, where mounting fails).
 */
import { Effect, Exit, Scope } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { makeDirectories, makeDirectoriesSync } from "../disk/make-directories.ts"
import { openDataDir } from "./data-dir.ts"
import { askHolder, DataDirLockedError, lockDataDir, lockFile, lockSocketName } from "./data-dir-lock.ts"

const roots: Array<string> = []
const fresh = () => {
  const root = mkdtempSync(join(tmpdir(), "cairn-datadir-"))
  roots.push(root)
  return root
}
const mounts: Array<string> = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})
afterAll(() => {
  for (const m of mounts.splice(0)) execFileSync("umount", ["-l", m])
})

/** Mounts a tmpfs at a fresh directory; undefined (the caller skips) where mount(2) is not allowed. */
const tmpfs = (options: string): string | undefined => {
  const at = mkdtempSync(join(tmpdir(), "cairn-tmpfs-"))
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", at], { stdio: "ignore" })
  } catch {
    rmSync(at, { recursive: true, force: true })
    return undefined
  }
  mounts.push(at)
  return at
}

/** Runs `effect` in a scope that stays open; returns the exit and the scope to close. */
const inScope = async <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.provide(effect, scope))
  return { exit, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return error.error
}

describe("data directory lock", () => {
  it("refuses a second holder, names the holder's pid, and is free again once released", async () => {
    const dir = fresh()
    const first = await inScope(lockDataDir(dir))
    expect(Exit.isSuccess(first.exit) && first.exit.value.kind).toBe("abstract-socket")
    expect(readFileSync(lockFile(dir), "utf8")).toBe(`${process.pid}\n`)
    expect(await askHolder(lockSocketName(dir))).toBe(process.pid)
    const second = await inScope(lockDataDir(dir))
    const refused = failureOf(second.exit)
    expect(refused).toBeInstanceOf(DataDirLockedError)
    expect((refused as DataDirLockedError).holderPid).toBe(process.pid)
    expect((refused as DataDirLockedError).message).toContain(`pid ${process.pid}`)
    await first.close()
    expect(existsSync(lockFile(dir))).toBe(false)
    const third = await inScope(lockDataDir(dir))
    expect(Exit.isSuccess(third.exit)).toBe(true)
    await third.close()
  })

  it("is one lock per directory, whatever path reaches it, and separate for separate directories", async () => {
    const root = fresh()
    mkdirSync(join(root, "a"))
    mkdirSync(join(root, "b"))
    symlinkSync(join(root, "a"), join(root, "alias"))
    const a = await inScope(lockDataDir(join(root, "a")))
    expect(Exit.isSuccess(a.exit)).toBe(true)
    expect(failureOf((await inScope(lockDataDir(join(root, "alias")))).exit)).toBeInstanceOf(DataDirLockedError)
    const b = await inScope(lockDataDir(join(root, "b")))
    expect(Exit.isSuccess(b.exit)).toBe(true)
    await a.close()
    await b.close()
  })

  it("dies with its process: a SIGKILLed holder leaves no lock behind", async () => {
    const dir = fresh()
    // A bare holder process: binds the same name and waits to be killed.
    const name = lockSocketName(dir)
    const holder = spawn(process.execPath, ["-e", `require("net").createServer((s) => s.end(process.pid + "\\n")).listen({ path: "\\0${name}" }, () => console.log("bound"))`], { stdio: ["ignore", "pipe", "inherit"] })
    await new Promise<void>((r) => holder.stdout!.once("data", () => r()))
    const refused = failureOf((await inScope(lockDataDir(dir))).exit) as DataDirLockedError
    expect(refused.holderPid).toBe(holder.pid)
    holder.kill("SIGKILL")
    await new Promise((r) => holder.once("exit", r))
    const after = await inScope(lockDataDir(dir))
    expect(Exit.isSuccess(after.exit)).toBe(true)
    await after.close()
  })

  it("pid-file fallback: refuses a live holder, takes over a dead one's file", async () => {
    const dir = fresh()
    const first = await inScope(lockDataDir(dir, { forceFallback: true }))
    expect(Exit.isSuccess(first.exit) && first.exit.value.kind).toBe("pid-file")
    expect((failureOf((await inScope(lockDataDir(dir, { forceFallback: true }))).exit) as DataDirLockedError).holderPid).toBe(process.pid)
    await first.close()
    expect(existsSync(lockFile(dir))).toBe(false)
    // A LOCK left by a process that is gone (a child that already exited).
    const dead = spawn(process.execPath, ["-e", "0"])
    await new Promise((r) => dead.once("exit", r))
    writeFileSync(lockFile(dir), `${dead.pid}\n`)
    const taken = await inScope(lockDataDir(dir, { forceFallback: true }))
    expect(Exit.isSuccess(taken.exit)).toBe(true)
    expect(readFileSync(lockFile(dir), "utf8")).toBe(`${process.pid}\n`)
    await taken.close()
  })
})

describe("bounded mkdir -p", () => {
  it("creates missing parents and reports the first directory it created", async () => {
    const root = fresh()
    expect(makeDirectoriesSync(join(root, "a", "b", "c"))).toBe(join(root, "a"))
    expect(makeDirectoriesSync(join(root, "a", "b", "c"))).toBeUndefined()
    expect(await makeDirectories(join(root, "a", "x", "y"))).toBe(join(root, "a", "x"))
    expect(await makeDirectories(join(root, "a", "x"))).toBeUndefined()
  })

  it("fails at once where mkdir answers ENOENT under an existing parent (/proc): Node's recursive mkdir loops there", async () => {
    expect(() => makeDirectoriesSync("/proc/cairn-nope/deeper")).toThrow(/ENOENT/)
    await expect(makeDirectories("/proc/cairn-nope/deeper")).rejects.toThrow(/ENOENT/)
    const root = fresh()
    writeFileSync(join(root, "file"), "x")
    expect(() => makeDirectoriesSync(join(root, "file"))).toThrow(/ENOTDIR/)
    expect(() => makeDirectoriesSync(join(root, "file", "sub"))).toThrow(/ENOTDIR/)
  })
})

describe("unusable data directories fail at start with one line", () => {
  const openFails = async (dir: string) => {
    const { exit, close } = await inScope(openDataDir(dir))
    await close()
    const error = failureOf(exit)
    expect(error.message).not.toContain("\n")
    return error
  }

  it("inside /proc, a file, a path under a file", async () => {
    expect(await openFails("/proc/cairn-nope")).toMatchObject({ exitCode: 2, message: expect.stringContaining("(ENOENT)") })
    expect(await openFails("/proc")).toMatchObject({ exitCode: 2 })
    const root = fresh()
    writeFileSync(join(root, "file"), "x")
    expect(await openFails(join(root, "file"))).toMatchObject({ exitCode: 2, message: expect.stringContaining("not a directory") })
    expect(await openFails(join(root, "file", "data"))).toMatchObject({ exitCode: 2, message: expect.stringContaining("(ENOTDIR)") })
  })

  it("a read-only file system: exit 2, nothing written", async (ctx) => {
    const ro = tmpfs("ro,size=1m")
    if (ro === undefined) return ctx.skip("cannot mount a tmpfs here (needs root and mount(2))")
    expect(await openFails(ro)).toMatchObject({ exitCode: 2, message: expect.stringContaining("(EROFS)") })
    expect(await openFails(join(ro, "data"))).toMatchObject({ exitCode: 2, message: expect.stringContaining("(EROFS)") })
  })

  it("a full disk: exit 1, and the directory is left as it was", async (ctx) => {
    const full = tmpfs("size=64k")
    if (full === undefined) return ctx.skip("cannot mount a tmpfs here (needs root and mount(2))")
    mkdirSync(join(full, "data"))
    try {
      writeFileSync(join(full, "filler"), new Uint8Array(1024 * 1024))
    } catch {
      // ENOSPC: the disk is now full, which is the point
    }
    const error = await openFails(join(full, "data"))
    expect(error).toMatchObject({ exitCode: 1, message: expect.stringMatching(/full \(ENOSPC\)/) })
    expect(readdirSync(join(full, "data"))).toEqual([])
    // A directory this start created is removed again (directories need no free blocks on tmpfs).
    expect(await openFails(join(full, "new", "data"))).toMatchObject({ exitCode: 1 })
    expect(readdirSync(full).sort()).toEqual(["data", "filler"])
  })

  it("a nearly full disk (room for the probe, not for the WAL): exit 1, saying how much is free", async (ctx) => {
    const small = tmpfs("size=2m")
    if (small === undefined) return ctx.skip("cannot mount a tmpfs here (needs root and mount(2))")
    const error = await openFails(join(small, "data"))
    expect(error).toMatchObject({ exitCode: 1, message: expect.stringMatching(/nearly full: \d+ KiB free, a node needs 32 MiB/) })
    expect(readdirSync(small)).toEqual([])
  })

  it("a usable directory passes, leaving only its FORMAT record and LOCK while held", async () => {
    const root = fresh()
    const { exit, close } = await inScope(openDataDir(join(root, "new", "data")))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(readdirSync(join(root, "new", "data")).sort()).toEqual(["FORMAT", "LOCK"])
    await close()
    expect(readdirSync(join(root, "new", "data"))).toEqual(["FORMAT"])
  })
})
