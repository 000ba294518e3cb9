/**
 * A reader for systemd unit files, enough to check what deploy/systemd's
 * units set: sections of `Key=value` lines, comments and blank lines
 * skipped, a key given several times keeping every value in order (as
 * systemd does for SystemCallFilter=, EnvironmentFile=, ...). Line
 * continuations (a trailing backslash) are refused rather than guessed at:
 * the units here do not use them.
 */
import { Data } from "effect"

export type UnitFile = ReadonlyMap<string, ReadonlyMap<string, ReadonlyArray<string>>>

export class UnitFileError extends Data.TaggedError("UnitFileError")<{ readonly message: string }> {}

export const parseUnitFile = (text: string): UnitFile => {
  const sections = new Map<string, Map<string, Array<string>>>()
  let current: Map<string, Array<string>> | undefined
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim()
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return
    if (line.endsWith("\\")) throw new UnitFileError({ message: `line ${i + 1}: line continuations are not supported here` })
    const section = /^\[([A-Za-z]+)\]$/.exec(line)
    if (section !== null) {
      current = sections.get(section[1]!) ?? new Map()
      sections.set(section[1]!, current)
      return
    }
    const eq = line.indexOf("=")
    if (eq <= 0 || current === undefined) throw new UnitFileError({ message: `line ${i + 1}: expected Key=value inside a [Section], got "${line}"` })
    const key = line.slice(0, eq).trim()
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()])
  })
  return sections
}

/** Every value of `section`/`key`, in order; empty when unset. */
export const unitValues = (unit: UnitFile, section: string, key: string): ReadonlyArray<string> => unit.get(section)?.get(key) ?? []
