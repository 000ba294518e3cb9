/**
 * Reads pytest's `--junitxml` report: one `<testcase>` per test, holding a
 * `<failure>`, an `<error>` or a `<skipped>` element unless it passed.
 * pytest writes this format itself, so a small scanner is enough; anything
 * it cannot read is an error, never a silent pass.
 */

export type Outcome = "passed" | "failed" | "error" | "skipped"

export interface TestResult {
  readonly name: string
  readonly outcome: Outcome
  /** The first line of the failure's message (empty for a pass). */
  readonly message: string
}

export interface SuiteCounts {
  readonly total: number
  readonly passed: number
  readonly failed: number
  readonly errors: number
  readonly skipped: number
  /** Failed and errored tests, in report order. */
  readonly failing: ReadonlyArray<TestResult>
}

const unescape = (s: string): string =>
  s.replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name: string, dec?: string, hex?: string) =>
    dec !== undefined ? String.fromCodePoint(Number(dec))
      : hex !== undefined ? String.fromCodePoint(parseInt(hex, 16))
      : ({ lt: "<", gt: ">", quot: "\"", apos: "'", amp: "&" } as Record<string, string>)[name] ?? "")

const attribute = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag)
  return m === null ? undefined : unescape(m[1]!)
}

const outcomeOf = (body: string): { outcome: Outcome; message: string } => {
  // pytest puts <error> on a test whose setup or teardown failed even if its call also failed; error wins.
  for (const [element, outcome] of [["error", "error"], ["failure", "failed"], ["skipped", "skipped"]] as const) {
    const m = new RegExp(`<${element}\\b[^>]*>`).exec(body)
    if (m !== null) return { outcome, message: (attribute(m[0], "message") ?? "").split("\n")[0]!.slice(0, 200) }
  }
  return { outcome: "passed", message: "" }
}

export const parseJunit = (xml: string): SuiteCounts => {
  const results: Array<TestResult> = []
  const testcase = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g
  for (let m = testcase.exec(xml); m !== null; m = testcase.exec(xml)) {
    const name = attribute(m[1]!, "name")
    if (name === undefined) throw new Error(`junit report: a <testcase> without a name: ${m[0].slice(0, 200)}`)
    results.push({ name, ...outcomeOf(m[3] ?? "") })
  }
  if (results.length === 0) throw new Error("junit report holds no <testcase>: pytest collected nothing or crashed")
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length
  return {
    total: results.length,
    passed: count("passed"),
    failed: count("failed"),
    errors: count("error"),
    skipped: count("skipped"),
    failing: results.filter((r) => r.outcome === "failed" || r.outcome === "error")
  }
}
