/**
 * A small EDN reader, enough for Jepsen histories: maps, vectors, lists,
 * sets, keywords, symbols, strings, numbers, characters, nil/true/false,
 * tagged literals (`#jepsen.history.Op{...}` reads as the map) and `#_`
 * discards. Keywords and symbols read as strings without the colon; sets
 * and lists read as arrays; map keys are printed with `keyString`.
 */
import type { Value } from "./op.ts"
import { HistoryError } from "./op.ts"

/** Reads every top-level form in `text`. */
export const readAll = (text: string): Array<Value> => {
  const r = new Reader(text)
  const out: Array<Value> = []
  for (;;) {
    r.skip()
    if (r.pos >= text.length) return out
    const v = r.form()
    if (v !== DISCARD) out.push(v)
  }
}

/** Reads exactly one form. */
export const readOne = (text: string): Value => {
  const all = readAll(text)
  if (all.length !== 1) throw new HistoryError({ message: `expected one EDN form, found ${all.length}` })
  return all[0]!
}

/** How a non-string map key becomes an object key: its EDN-ish printed form. */
export const keyString = (v: Value): string => (typeof v === "string" ? v : JSON.stringify(v))

const DISCARD: unique symbol = Symbol("discard")
type Form = Value | typeof DISCARD

const delimiters = new Set(["{", "}", "[", "]", "(", ")", '"', ";", ","])
const isWs = (c: number) => c === 32 || c === 44 || c === 9 || c === 10 || c === 13 || c === 12

class Reader {
  pos = 0
  readonly text: string
  constructor(text: string) {
    this.text = text
  }

  fail(msg: string): never {
    const line = this.text.slice(0, this.pos).split("\n").length
    throw new HistoryError({ message: `EDN: ${msg} at line ${line}` })
  }

  skip(): void {
    const t = this.text
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos)
      if (isWs(c)) this.pos++
      else if (c === 59 /* ; */) {
        while (this.pos < t.length && t.charCodeAt(this.pos) !== 10) this.pos++
      } else return
    }
  }

  form(): Form {
    this.skip()
    const t = this.text
    if (this.pos >= t.length) this.fail("unexpected end of input")
    const c = t[this.pos]!
    switch (c) {
      case "{":
        this.pos++
        return this.map("}")
      case "[":
        this.pos++
        return this.seq("]")
      case "(":
        this.pos++
        return this.seq(")")
      case '"':
        return this.string()
      case ":":
        this.pos++
        return this.token()
      case "\\":
        return this.char()
      case "#": {
        const n = t[this.pos + 1]
        if (n === "{") {
          this.pos += 2
          return this.seq("}")
        }
        if (n === "_") {
          this.pos += 2
          this.form()
          return DISCARD
        }
        this.pos++
        this.token() // the tag: read the tagged value as itself
        return this.form()
      }
      case "}":
      case "]":
      case ")":
        return this.fail(`unexpected '${c}'`)
      default:
        return this.atom()
    }
  }

  seq(close: string): Array<Value> {
    const out: Array<Value> = []
    for (;;) {
      this.skip()
      if (this.pos >= this.text.length) this.fail(`missing '${close}'`)
      if (this.text[this.pos] === close) {
        this.pos++
        return out
      }
      const v = this.form()
      if (v !== DISCARD) out.push(v)
    }
  }

  map(close: string): { [key: string]: Value } {
    const items = this.seq(close)
    if (items.length % 2 !== 0) this.fail("map with an odd number of forms")
    const out: { [key: string]: Value } = {}
    for (let i = 0; i < items.length; i += 2) out[keyString(items[i]!)] = items[i + 1]!
    return out
  }

  token(): string {
    const t = this.text
    const start = this.pos
    while (this.pos < t.length && !isWs(t.charCodeAt(this.pos)) && !delimiters.has(t[this.pos]!)) this.pos++
    return t.slice(start, this.pos)
  }

  atom(): Value {
    const tok = this.token()
    if (tok === "") this.fail(`unexpected '${this.text[this.pos]}'`)
    if (tok === "nil") return null
    if (tok === "true") return true
    if (tok === "false") return false
    if (/^[+-]?\d/.test(tok)) return this.number(tok)
    return tok // a symbol
  }

  number(tok: string): number {
    const ratio = /^([+-]?\d+)\/(\d+)$/.exec(tok)
    if (ratio) return Number(ratio[1]) / Number(ratio[2])
    const clean = tok.replace(/[NM]$/, "")
    const n = Number(clean)
    if (Number.isNaN(n)) this.fail(`bad number '${tok}'`)
    return n
  }

  string(): string {
    const t = this.text
    this.pos++
    let out = ""
    let start = this.pos
    for (;;) {
      if (this.pos >= t.length) this.fail("unterminated string")
      const c = t[this.pos]!
      if (c === '"') {
        out += t.slice(start, this.pos)
        this.pos++
        return out
      }
      if (c === "\\") {
        out += t.slice(start, this.pos)
        const e = t[this.pos + 1]
        this.pos += 2
        switch (e) {
          case "n":
            out += "\n"
            break
          case "t":
            out += "\t"
            break
          case "r":
            out += "\r"
            break
          case '"':
            out += '"'
            break
          case "\\":
            out += "\\"
            break
          case "u":
            out += String.fromCharCode(parseInt(t.slice(this.pos, this.pos + 4), 16))
            this.pos += 4
            break
          default:
            this.fail(`bad escape '\\${e ?? ""}'`)
        }
        start = this.pos
      } else this.pos++
    }
  }

  char(): string {
    this.pos++
    if (this.pos >= this.text.length) this.fail("bad character literal")
    const first = this.text[this.pos]!
    this.pos++
    const tok = first + this.token()
    const named: Record<string, string> = { newline: "\n", space: " ", tab: "\t", return: "\r" }
    if (tok.length === 1) return tok
    return named[tok] ?? tok
  }
}
