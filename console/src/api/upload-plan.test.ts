import { describe, expect, it } from "vitest"
import { type AckedPart, bytesAcked, completionBody, MAX_PARTS, PART_SIZE, partSizeFor, partsToSend, planParts, resumes } from "./upload-plan.ts"

const MiB = 1024 * 1024
const ack = (partNumber: number, size: number, etag = `"e${partNumber}"`): AckedPart => ({ partNumber, size, etag })

describe("planParts", () => {
  it("cuts a file into 8 MiB parts, the last one shorter, covering every byte once", () => {
    const plan = planParts(20 * MiB)
    expect(plan).toEqual([
      { partNumber: 1, start: 0, end: 8 * MiB },
      { partNumber: 2, start: 8 * MiB, end: 16 * MiB },
      { partNumber: 3, start: 16 * MiB, end: 20 * MiB }
    ])
  })

  it("makes an exact multiple into whole parts and an empty file into one empty part", () => {
    expect(planParts(16 * MiB).map((p) => p.end - p.start)).toEqual([8 * MiB, 8 * MiB])
    expect(planParts(0)).toEqual([{ partNumber: 1, start: 0, end: 0 }])
  })

  it("grows the part size past 10,000 parts of 8 MiB (78 GiB) so that no file needs more", () => {
    expect(partSizeFor(MAX_PARTS * PART_SIZE)).toBe(PART_SIZE)
    expect(partSizeFor(MAX_PARTS * PART_SIZE + 1)).toBe(PART_SIZE + MiB)
    const huge = 200 * 1024 * MiB
    const size = partSizeFor(huge)
    expect(size % MiB).toBe(0)
    expect(size).toBeGreaterThan(PART_SIZE)
    expect(Math.ceil(huge / size)).toBeLessThanOrEqual(MAX_PARTS)
    expect(() => planParts(huge, PART_SIZE)).toThrow(/S3 allows 10000/)
  })

  it("refuses sizes that are not whole bytes", () => {
    expect(() => planParts(-1)).toThrow()
    expect(() => planParts(1.5)).toThrow()
    expect(() => planParts(10, 0)).toThrow()
  })
})

describe("resuming", () => {
  const plan = planParts(20 * MiB)

  it("sends only the parts the node does not hold", () => {
    expect(partsToSend(plan, [ack(1, 8 * MiB), ack(3, 4 * MiB)]).map((p) => p.partNumber)).toEqual([2])
    expect(partsToSend(plan, []).map((p) => p.partNumber)).toEqual([1, 2, 3])
    expect(partsToSend(plan, [ack(1, 8 * MiB), ack(2, 8 * MiB), ack(3, 4 * MiB)])).toEqual([])
  })

  it("sends again a part held with another size or no ETag, and ignores parts outside the plan", () => {
    expect(partsToSend(plan, [ack(1, 3 * MiB), ack(2, 8 * MiB, ""), ack(3, 4 * MiB), ack(9, 8 * MiB)]).map((p) => p.partNumber)).toEqual([1, 2])
  })

  it("counts the bytes already held, where the progress bar starts again", () => {
    expect(bytesAcked(plan, [ack(1, 8 * MiB), ack(3, 4 * MiB)])).toBe(12 * MiB)
    expect(bytesAcked(plan, [ack(1, 1)])).toBe(0)
  })

  it("completes with every part's ETag in part order, XML-escaped, and refuses while a part is missing", () => {
    const body = completionBody(plan, [ack(3, 4 * MiB), ack(1, 8 * MiB, `"a&b"`), ack(2, 8 * MiB)])
    expect(body).toBe(
      `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"a&amp;b"</ETag></Part>` +
        `<Part><PartNumber>2</PartNumber><ETag>"e2"</ETag></Part><Part><PartNumber>3</PartNumber><ETag>"e3"</ETag></Part></CompleteMultipartUpload>`
    )
    expect(() => completionBody(plan, [ack(1, 8 * MiB)])).toThrow("parts 2, 3 are not on the node yet")
  })

  it("resumes only the same file to the same key", () => {
    const file = { name: "big.bin", size: 20 * MiB, lastModified: 1000 }
    const paused = { bucket: "photos", key: "a/big.bin", uploadId: "u1", file, partSize: PART_SIZE, startedMs: 0 }
    expect(resumes(paused, "photos", "a/big.bin", file)).toBe(true)
    expect(resumes(paused, "photos", "a/big.bin", { ...file, lastModified: 2000 })).toBe(false)
    expect(resumes(paused, "photos", "a/big.bin", { ...file, size: 21 * MiB })).toBe(false)
    expect(resumes(paused, "photos", "b/big.bin", file)).toBe(false)
    expect(resumes(paused, "other", "a/big.bin", file)).toBe(false)
    expect(resumes({ ...paused, partSize: 16 * MiB }, "photos", "a/big.bin", file)).toBe(false)
  })
})
