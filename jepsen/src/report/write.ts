/** Writes the HTML report to `DIR/index.html` (I/O lives here, not in the renderer). */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { ReportInput } from "./html.ts"
import { renderReport } from "./html.ts"

export const writeReport = (dir: string, input: ReportInput): string => {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, "index.html")
  writeFileSync(path, renderReport(input))
  return path
}
