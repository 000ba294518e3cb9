import { describe, expect, it } from "vitest"
import { checkLog, type LogHistory, type LogPoll, type LogSend } from "./log.ts"

const send = (value: number, offset: number | undefined, outcome: LogSend["outcome"] = "ok", extra: Partial<LogSend> = {}): LogSend => ({
  producer: "p1", idempotent: true, partition: "t/0", value, outcome, ...(offset === undefined ? {} : { offset }), ...extra
})
const poll = (from: number, records: ReadonlyArray<readonly [number, number]>, logStartOffset = 0): LogPoll => ({ partition: "t/0", from, records, logStartOffset })
const history = (sends: ReadonlyArray<LogSend>, polls: ReadonlyArray<LogPoll>, final: LogPoll): LogHistory => ({ sends, polls, final: new Map([["t/0", final]]) })

describe("the log checker", () => {
  const sends = [send(10, 0), send(11, 1), send(12, undefined, "info"), send(13, 2)]
  const good = poll(0, [[0, 10], [1, 11], [2, 13]])

  it("accepts a clean history", () => {
    const r = checkLog(history(sends, [poll(1, [[1, 11], [2, 13]])], good))
    expect(r.verdict).toBe("valid")
    expect(r.acknowledged).toBe(3)
  })

  it("finds a lost acknowledged record, and one moved to another offset", () => {
    expect(checkLog(history(sends, [], poll(0, [[0, 10], [1, 11]]))).lost).toHaveLength(1)
    expect(checkLog(history(sends, [], poll(0, [[0, 11], [1, 10], [2, 13]]))).lost).toHaveLength(2)
  })

  it("requires in the final read only what was acknowledged before it began", () => {
    const timed = [send(10, 0, "ok", { completedAt: 5 }), send(11, 1, "ok", { completedAt: 9 }), send(13, 2, "ok", { completedAt: 20 })]
    const final = { ...poll(0, [[0, 10], [1, 11]]), startedAt: 10 }
    const r = checkLog(history(timed, [], final))
    expect(r.verdict).toBe("valid")
    expect(r.late).toBe(1)
    // The same read, begun after the last acknowledgement, lacks a record it must hold.
    expect(checkLog(history(timed, [], { ...final, startedAt: 25 })).lost).toHaveLength(1)
  })

  it("does not call records lost in a partition whose final read never completed, and names that partition", () => {
    const r = checkLog({ sends, polls: [], final: new Map() })
    expect(r.lost).toEqual([])
    expect(r.unread).toEqual(["t/0"])
    expect(checkLog(history(sends, [], good)).unread).toEqual([])
  })

  it("excuses what retention removed", () => {
    expect(checkLog(history(sends, [], poll(0, [[2, 13]], 2))).verdict).toBe("valid")
  })

  it("finds one offset holding two values across reads", () => {
    const r = checkLog(history(sends, [poll(2, [[2, 12]])], good))
    expect(r.inconsistent).toEqual(["t/0@2 held 12 and 13"])
  })

  it("finds a polled record the final read no longer has, but not one retention removed", () => {
    const r = checkLog(history(sends, [poll(2, [[2, 13], [3, 12]])], good))
    expect(r.vanished).toEqual(["t/0@3: 12 was read, the final read ends at 3"])
    expect(r.verdict).toBe("invalid")
    expect(checkLog(history(sends, [poll(0, [[0, 10]])], poll(2, [[2, 13]], 2))).vanished).toEqual([])
  })

  it("finds gaps and a poll that starts elsewhere than asked", () => {
    expect(checkLog(history(sends, [poll(0, [[0, 10], [2, 13]])], good)).gaps).toHaveLength(1)
    expect(checkLog(history(sends, [poll(1, [[2, 13]])], good)).gaps).toHaveLength(1)
  })

  it("finds duplicates, telling idempotent producers' apart", () => {
    const dup = poll(0, [[0, 10], [1, 11], [2, 13], [3, 11]])
    expect(checkLog(history(sends, [], dup)).idempotentDuplicates).toEqual(["11 appears 2 times"])
    const plain = sends.map((s) => ({ ...s, idempotent: false }))
    expect(checkLog(history(plain, [], dup)).duplicated).toEqual(["11 appears 2 times"])
  })

  it("finds values never sent or refused, and counts unknown sends that landed", () => {
    const withRefused = [...sends, send(14, undefined, "fail")]
    const r = checkLog(history(withRefused, [], poll(0, [[0, 10], [1, 11], [2, 13], [3, 12], [4, 14], [5, 99]])))
    expect(r.unexpected).toEqual(["14 was refused, yet appended", "99 was never sent"])
    expect(r.recovered).toBe(1)
  })

  it("finds one producer's sends acknowledged out of order", () => {
    const r = checkLog(history([send(10, 1), send(11, 0)], [], poll(0, [[0, 11], [1, 10]])))
    expect(r.reordered).toHaveLength(1)
  })
})
