/**
 * The backup file format: what is written reads back exactly, and every
 * kind of damage (any flipped byte, any truncation, another file, a newer
 * version) is refused with a message that says which.
 */
import { describe, expect, it } from "vitest"
import { type Backup, BACKUP_VERSION, BackupFileError, decodeBackup, encodeBackup } from "./backup-file.ts"

const bytes = (...xs: Array<number>) => new Uint8Array(xs)
const sample: Backup = {
  header: { createdAt: "2026-12-07T08:00:00.000Z", node: "n1", leader: "n1", term: 3, appliedIndex: 42, keys: 4 },
  entries: [
    { key: "\u0000b/photos", value: new TextEncoder().encode("{\"versioning\":\"off\"}") },
    { key: "\u0000o/photos/cat.jpg", value: bytes(0x43, 0x4f, 0x42, 0x4a, 1, 0, 255) },
    { key: "plain", value: bytes() },
    { key: "z\u00e9", value: new Uint8Array(70_000).fill(7) }
  ]
}

const messageOf = (b: Uint8Array): string => {
  const r = decodeBackup(b)
  if (!(r instanceof BackupFileError)) throw new Error("expected a refusal")
  return r.message
}

describe("backup file", () => {
  it("reads back exactly what was written", () => {
    expect(decodeBackup(encodeBackup(sample))).toEqual(sample)
    const empty: Backup = { header: { ...sample.header, keys: 0 }, entries: [] }
    expect(decodeBackup(encodeBackup(empty))).toEqual(empty)
  })

  it("refuses every single flipped byte and every truncation", () => {
    const good = encodeBackup(sample)
    for (let i = 0; i < good.length; i += i < 200 ? 1 : 997) {
      const bad = good.slice()
      bad[i]! ^= 0x01
      expect(decodeBackup(bad), `byte ${i}`).toBeInstanceOf(BackupFileError)
    }
    for (const n of [0, 5, 8, 12, 20, good.length - 1]) expect(decodeBackup(good.slice(0, n)), `first ${n} bytes`).toBeInstanceOf(BackupFileError)
    const flipped = good.slice()
    flipped[100]! ^= 0x40
    expect(messageOf(flipped)).toBe("the backup file is damaged (checksum mismatch: truncated or altered); it cannot be restored")
  })

  it("names a newer version and a file that is not a backup", () => {
    const newer = encodeBackup(sample)
    new DataView(newer.buffer).setUint32(8, BACKUP_VERSION + 1)
    expect(messageOf(newer)).toBe(`the backup file is version ${BACKUP_VERSION + 1}, newer than this build reads (${BACKUP_VERSION}): restore it with the Cairn release that wrote it, or a newer one`)
    expect(messageOf(new TextEncoder().encode("{\"not\": \"a backup\"}"))).toBe("not a Cairn backup file (it does not start with CAIRNBAK)")
  })
})
