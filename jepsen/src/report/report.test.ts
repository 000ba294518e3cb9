/** The HTML report: self-contained, shows the counterexample, shades faults, escapes values. */
import { describe, expect, it } from "vitest"
import { checkHistory } from "../checker/check-history.ts"
import { parseDsl } from "../history/dsl.ts"
import { generateRegisterHistory, mulberry32 } from "../history/generate.ts"
import { register } from "../model/register.ts"
import { nemesisIntervals, renderReport } from "./html.ts"

const stale = parseDsl(`0 invoke write 1
                        0 ok write 1
                        nemesis info start-partition "halves"
                        0 invoke write 2
                        0 ok write 2
                        nemesis info stop-partition nil
                        1 invoke read
                        1 ok read 1`)

describe("HTML report", () => {
  const r = checkHistory(register(), stale)
  const html = renderReport({
    title: "stale <read>",
    history: stale,
    verdicts: [{ checker: "linearizable (register)", verdict: r.verdict }],
    counterexample: r.counterexample,
    faults: nemesisIntervals(stale),
    reproduce: "cairn check --model register history.edn"
  })
  it("is one self-contained document: no external scripts, styles or images", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//)
  })
  it("highlights the op that could not be linearized and lists the prefix", () => {
    expect(html).toContain('class="op blocked"')
    expect(html).toMatch(/Operation 6 \(process 1/)
    expect((html.match(/class="op linearized"/g) ?? []).length).toBe(2)
  })
  it("shades fault intervals from the nemesis ops and shows the verdict and the command", () => {
    expect(nemesisIntervals(stale)).toEqual([{ kind: "partition", start: 2, end: 5, label: "partition halves" }])
    expect(html).toContain("<title>partition halves</title>")
    expect(html).toContain('<span class="verdict invalid">invalid</span>')
    expect(html).toContain("cairn check --model register history.edn")
  })
  it("escapes text from the history", () => {
    expect(html).toContain("stale &#60;read&#62;")
    expect(html).not.toContain("stale <read>")
  })
  it("a valid history has no counterexample section", () => {
    const ok = renderReport({ title: "ok", history: stale.slice(0, 5), verdicts: [{ checker: "x", verdict: "valid" }] })
    expect(ok).not.toContain("Counterexample")
    expect(ok).not.toContain('class="op blocked"')
  })
  it("keeps the timeline bounded on a long history", () => {
    const h = generateRegisterHistory(mulberry32(1), { ops: 20_000 })
    const big = renderReport({ title: "big", history: h, verdicts: [], maxTimelineOps: 500 })
    expect((big.match(/<g class="op/g) ?? []).length).toBe(500)
    expect(big).toContain("Showing 500 of 20000 operations")
  })
})
