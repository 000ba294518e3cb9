import { describe, expect, it } from "vitest"
import { DiskFullError, DiskIOError, DiskSyncError } from "../disk/disk-error.ts"
import { failed, writeFailed } from "./disk-io.ts"

describe("what the WAL's disk failures become", () => {
  it("a full disk fails only what did not fit; any other write failure stops the log", () => {
    const full = writeFailed("write", "wal/00000002.seg")(new DiskFullError({ path: "wal/00000002.seg", message: "ENOSPC" }))
    expect(full).toMatchObject({ _tag: "WalDiskFullError", path: "wal/00000002.seg", message: "ENOSPC" })
    const io = writeFailed("create-segment", "wal/00000003.seg")(new DiskIOError({ op: "write", path: "wal/00000003.seg", message: "EIO" }))
    expect(io).toMatchObject({ _tag: "WalFailedError", op: "create-segment", path: "wal/00000003.seg", message: "DiskIOError: EIO" })
  })

  it("a failed sync is never taken for a full disk", () => {
    const sync = failed("sync", "wal/00000001.seg")(new DiskSyncError({ path: "wal/00000001.seg", message: "EIO" }))
    expect(sync).toMatchObject({ _tag: "WalFailedError", op: "sync" })
  })
})
