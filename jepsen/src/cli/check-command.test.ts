/** The `check` command's handler: verdicts, exit codes, JSON output, the report. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { CheckArgs } from "./check-command.ts"
import { CheckInputError, modelForFormat, reproduceCommand, runCheck } from "./check-command.ts"

const dir = mkdtempSync(join(tmpdir(), "cairn-check-"))
const file = (name: string, text: string) => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
const valid = file("valid.edn", `{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :ok :f :write :value 1}\n{:process 1 :type :invoke :f :read :value nil}\n{:process 1 :type :ok :f :read :value 1}\n`)
const invalid = file("invalid.jsonl", [
  { process: 0, type: "invoke", f: "write", value: 1 },
  { process: 0, type: "ok", f: "write", value: 1 },
  { process: 1, type: "invoke", f: "read", value: null },
  { process: 1, type: "ok", f: "read", value: 2 }
].map((o) => JSON.stringify(o)).join("\n"))
const hard = file("hard.edn", [
  ...Array.from({ length: 12 }, (_, p) => `{:process ${p} :type :invoke :f :write :value ${p}}`),
  ...Array.from({ length: 12 }, (_, p) => `{:process ${p} :type :info :f :write :value ${p}}`),
  ...Array.from({ length: 12 }, (_, p) => `{:process ${20 + p} :type :invoke :f :read}\n{:process ${20 + p} :type :ok :f :read :value ${p}}`),
  `{:process 99 :type :invoke :f :read}\n{:process 99 :type :ok :f :read :value 77}`
].join("\n"))

const args = (over: Partial<CheckArgs>): CheckArgs => ({ file: valid, model: "register", format: "auto", json: false, report: undefined, timeLimit: 0, maxSteps: 0, ...over })

describe("cairn check", () => {
  it("exits 0 on a valid history and says so", () => {
    const r = runCheck(args({}))
    expect(r.exitCode).toBe(0)
    expect(r.output).toMatch(/VALID/)
  })
  it("exits 1 on an invalid history and prints the op that could not be linearized", () => {
    const r = runCheck(args({ file: invalid }))
    expect(r.exitCode).toBe(1)
    expect(r.output).toMatch(/cannot linearize op 2 \(p1\) read -> 2/)
  })
  it("exits 2 when the budget runs out", () => {
    const r = runCheck(args({ file: hard, model: "cas-register", maxSteps: 2000 }))
    expect(r.exitCode).toBe(2)
    expect(runCheck(args({ file: hard, model: "cas-register" })).exitCode).toBe(1)
  })
  it("--json prints one machine-readable object", () => {
    const r = runCheck(args({ file: invalid, json: true }))
    const j = JSON.parse(r.output) as { verdict: string; format: string; counterexample: { blocked: { id: number } } }
    expect(j.verdict).toBe("invalid")
    expect(j.format).toBe("json")
    expect(j.counterexample.blocked.id).toBe(2)
  })
  it("--report writes a self-contained HTML file with the reproduce command", () => {
    const out = join(dir, "report")
    const r = runCheck(args({ file: invalid, report: out }))
    expect(r.reportPath).toBe(join(out, "index.html"))
    expect(existsSync(r.reportPath!)).toBe(true)
    const html = readFileSync(r.reportPath!, "utf8")
    expect(html).toContain(reproduceCommand(args({ file: invalid, report: out })).replace(/"/g, "&#34;"))
    expect(html).toContain('class="op blocked"')
  })
  it("the reproduce command names the model, format and budget", () => {
    expect(reproduceCommand(args({ model: "kv", format: "kv-log", maxSteps: 5 }))).toBe(`cairn check --model kv --format kv-log --max-steps 5 ${JSON.stringify(valid)}`)
  })
  it("a malformed history throws (the command maps it to exit 3, never to a verdict)", () => {
    expect(() => runCheck(args({ file: file("bad.edn", "{:process 0 :type :ok :f :read}") }))).toThrow(/no open invoke/)
  })
})

describe("cairn check: bad input is one line with the fix", () => {
  const inputError = (over: Partial<CheckArgs>): string => {
    try {
      runCheck(args(over))
    } catch (e) {
      expect(e).toBeInstanceOf(CheckInputError)
      return (e as CheckInputError).message
    }
    throw new Error("expected a CheckInputError")
  }

  it("names a missing file and what to pass instead", () => {
    expect(inputError({ file: join(dir, "nope.edn") })).toMatch(/^cannot read .*nope\.edn: no such file; pass the path of a history file/)
  })

  it("calls an empty history an error, not VALID", () => {
    expect(inputError({ file: file("empty.jsonl", "") })).toMatch(/holds no operations, so there is nothing to check/)
    expect(inputError({ file: file("blank.edn", "\n\n") })).toMatch(/holds no operations/)
  })

  it("asks for --model where the format does not imply one", () => {
    expect(inputError({ model: undefined })).toMatch(/is an edn history, which does not say what data type it records: pass --model \(register, cas-register/)
  })

  it("guesses the model of Porcupine's logs", () => {
    expect(modelForFormat("etcd-log")).toBe("cas-register")
    expect(modelForFormat("kv-log")).toBe("kv")
    expect(modelForFormat("json")).toBeUndefined()
    const etcd = file("etcd.log", "INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\tnil\n")
    const r = runCheck(args({ file: etcd, model: undefined }))
    expect(r.output).toContain("model cas-register: VALID")
  })

  it("says the operations do not fit the model, and which models there are", () => {
    expect(inputError({ model: "kv" })).toMatch(/its operations do not fit the kv model .*; pass the --model the history was recorded with/)
  })
})
