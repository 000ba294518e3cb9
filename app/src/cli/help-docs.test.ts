/**
 * The operator's commands say in `--help` what docs/server.md documents:
 * every flag a command's help lists (its own FLAGS section, not the CLI's
 * global ones) appears in docs/server.md, and no flag is listed twice. Runs
 * the real CLI, so a flag added without its documentation fails here.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { exited, spawnCairn } from "@cairn/runtime-node/server/local-cluster"

const docs = readFileSync(join(import.meta.dirname, "..", "..", "..", "docs", "server.md"), "utf8")

const helpOf = async (command: ReadonlyArray<string>): Promise<string> => {
  const lines: Array<string> = []
  const child = spawnCairn([...command, "--help"], {}, (line) => lines.push(line))
  await exited(child)
  return lines.join("\n")
}

/** The `--flag` names of a help text's FLAGS section. */
export const ownFlags = (help: string): Array<string> => {
  const section = help.split(/^FLAGS$/m)[1]?.split(/^[A-Z][A-Z ]+$/m)[0] ?? ""
  return [...section.matchAll(/^\s+(--[a-z0-9-]+)/gm)].map((m) => m[1]!)
}

const commands = [["server"], ["dev"], ["cluster", "add"], ["cluster", "remove"], ["cluster", "list"], ["admin", "user", "add"], ["admin", "user", "list"], ["admin", "user", "revoke"]]

describe("docs/server.md covers every operator flag", () => {
  it("reads a help text's own flags, not the global ones", () => {
    const help = "FLAGS\n  --data-dir string    where\n  --join               join\n\nGLOBAL FLAGS\n  --help, -h    Show help\n  --log-level <x>    level\n"
    expect(ownFlags(help)).toEqual(["--data-dir", "--join"])
  })

  it.each(commands.map((c) => [c.join(" "), c] as const))("cairn %s", async (_name, command) => {
    const help = await helpOf(command)
    const global = help.split(/^GLOBAL FLAGS$/m)[1] ?? ""
    const flags = ownFlags(help)
    expect(flags.length).toBeGreaterThan(0)
    const globalNames = [...global.matchAll(/^\s+(--[a-z0-9-]+)/gm)].map((m) => m[1]!)
    expect(flags.filter((f) => globalNames.includes(f)), "a flag listed both as the command's and as a global flag").toEqual([])
    expect(new Set(flags).size).toBe(flags.length)
    const undocumented = flags.filter((f) => !new RegExp(`${f}(?![a-z0-9-])`).test(docs))
    expect(undocumented, `flags of cairn ${command.join(" ")} missing from docs/server.md`).toEqual([])
  }, 30_000)
})
