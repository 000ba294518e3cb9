import { describe, expect, it } from "vitest"
import { parseJunit } from "./s3-tests-junit.ts"

const report = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5">
<testcase classname="s3tests.functional.test_s3" name="test_ok" time="0.1" />
<testcase classname="s3tests.functional.test_s3" name="test_ok_too" time="0.2"></testcase>
<testcase classname="s3tests.functional.test_s3" name="test_bad" time="0.3"><failure message="assert 403 == 404&#10;second line">trace</failure></testcase>
<testcase classname="s3tests.functional.test_s3" name="test_cascade" time="0.4"><error message="failed on setup with &quot;BucketNotEmpty&quot;">trace</error></testcase>
<testcase classname="s3tests.functional.test_s3" name="test_skip" time="0"><skipped type="pytest.skip" message="no">x</skipped></testcase>
</testsuite></testsuites>`

describe("pytest's junit report", () => {
  it("counts passes, failures, errors and skips, and names the failing tests with their first message line", () => {
    const counts = parseJunit(report)
    expect([counts.total, counts.passed, counts.failed, counts.errors, counts.skipped]).toEqual([5, 2, 1, 1, 1])
    expect(counts.failing).toEqual([
      { name: "test_bad", outcome: "failed", message: "assert 403 == 404" },
      { name: "test_cascade", outcome: "error", message: "failed on setup with \"BucketNotEmpty\"" }
    ])
  })

  it("refuses a report with no test case rather than passing nothing", () => {
    expect(() => parseJunit("<testsuites></testsuites>")).toThrow(/no <testcase>/)
  })
})
