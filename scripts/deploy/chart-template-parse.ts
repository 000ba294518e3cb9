/**
 * Parser for the subset of Go's text/template that deploy/helm/cairn's
 * templates are kept within, so that a test can render the chart where no
 * helm binary exists (docs/kubernetes.md says what this does and does not
 * prove). The subset:
 *
 * - text, `{{ pipeline }}`, `{{- ... -}}` (trims the whitespace beside it,
 *   newlines included), comments `{{/* ... *\/}}`;
 * - `if` / `else if` / `else` / `end`, `with` / `else` / `end`,
 *   `define "name"` / `end`;
 * - pipelines of commands joined by `|`, the value on the left passed as the
 *   last argument; operands: fields from the dot (`.Values.a.b`, `.`) or the
 *   root (`$`, `$.Values.a`), "strings", numbers, true, false, nil and
 *   parenthesised pipelines.
 *
 * Anything else (range, variables, template, block, comparisons on method
 * results, ...) is refused with the template's name and line, never
 * guessed at.
 */
import { Data } from "effect"

export class TemplateError extends Data.TaggedError("TemplateError")<{ readonly message: string }> {}

export type Operand =
  | { readonly kind: "field"; readonly root: "dot" | "root"; readonly path: ReadonlyArray<string> }
  | { readonly kind: "literal"; readonly value: string | number | boolean | null }
  | { readonly kind: "ident"; readonly name: string }
  | { readonly kind: "pipe"; readonly pipe: Pipeline }
export type Command = ReadonlyArray<Operand>
export type Pipeline = ReadonlyArray<Command>
export type Node =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "output"; readonly pipe: Pipeline; readonly where: string }
  | { readonly kind: "if" | "with"; readonly pipe: Pipeline; readonly then: ReadonlyArray<Node>; readonly otherwise: ReadonlyArray<Node>; readonly where: string }

export interface ParsedTemplate {
  readonly nodes: ReadonlyArray<Node>
  readonly defines: ReadonlyMap<string, ReadonlyArray<Node>>
}

type Item = { readonly kind: "text"; readonly text: string } | { readonly kind: "action"; readonly body: string; readonly where: string }

/** Splits a template into text and actions, applying the trim markers. */
const lex = (name: string, source: string): Array<Item> => {
  const items: Array<Item> = []
  let pos = 0
  let trimNext = false
  while (pos < source.length) {
    const open = source.indexOf("{{", pos)
    let text = source.slice(pos, open < 0 ? source.length : open)
    if (trimNext) text = text.replace(/^\s+/, "")
    if (open < 0) {
      items.push({ kind: "text", text })
      break
    }
    const trimLeft = source.startsWith("{{- ", open) || source.startsWith("{{-\n", open)
    if (trimLeft) text = text.replace(/\s+$/, "")
    items.push({ kind: "text", text })
    const close = findClose(name, source, open + 2)
    const trimRight = /\s-$/.test(source.slice(open, close))
    const body = source.slice(open + (trimLeft ? 3 : 2), trimRight ? close - 1 : close).trim()
    const where = `${name}:${source.slice(0, open).split("\n").length}`
    if (!(body.startsWith("/*") && body.endsWith("*/"))) items.push({ kind: "action", body, where })
    trimNext = trimRight
    pos = close + 2
  }
  return items
}

/** The index of the `}}` closing the action that starts at `from`, skipping quoted strings. */
const findClose = (name: string, source: string, from: number): number => {
  let quote: string | undefined
  for (let i = from; i < source.length; i++) {
    const c = source[i]!
    if (quote !== undefined) {
      if (c === "\\" && quote === "\"") i++
      else if (c === quote) quote = undefined
    } else if (c === "\"" || c === "`") quote = c
    else if (c === "}" && source[i + 1] === "}") return i
  }
  throw new TemplateError({ message: `${name}: an action opened with {{ is never closed` })
}

const tokenPattern = /\s*(\(|\)|\||"(?:[^"\\]|\\.)*"|`[^`]*`|-?\d+(?:\.\d+)?|\$?(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\$|\.|[A-Za-z_][A-Za-z0-9_]*)/y

const tokenize = (body: string, where: string): Array<string> => {
  const tokens: Array<string> = []
  tokenPattern.lastIndex = 0
  while (tokenPattern.lastIndex < body.length) {
    const start = tokenPattern.lastIndex
    const m = tokenPattern.exec(body)
    if (m === null) {
      if (body.slice(start).trim() === "") break
      throw new TemplateError({ message: `${where}: "${body.slice(start).trim()}" is outside the template subset this chart keeps to` })
    }
    tokens.push(m[1]!)
  }
  return tokens
}

const operand = (token: string, where: string): Operand => {
  if (token.startsWith("\"")) return { kind: "literal", value: JSON.parse(token) as string }
  if (token.startsWith("`")) return { kind: "literal", value: token.slice(1, -1) }
  if (/^-?\d/.test(token)) return { kind: "literal", value: Number(token) }
  if (token === "true" || token === "false") return { kind: "literal", value: token === "true" }
  if (token === "nil") return { kind: "literal", value: null }
  if (token === "$" || token === ".") return { kind: "field", root: token === "$" ? "root" : "dot", path: [] }
  if (token.startsWith("$.") || token.startsWith(".")) {
    return { kind: "field", root: token.startsWith("$") ? "root" : "dot", path: token.replace(/^\$/, "").slice(1).split(".") }
  }
  if (/^[A-Za-z_]/.test(token)) return { kind: "ident", name: token }
  throw new TemplateError({ message: `${where}: unexpected "${token}"` })
}

/** Parses tokens[from..] into a pipeline, up to a ")" or the end; returns the pipeline and the next index. */
const parsePipeline = (tokens: ReadonlyArray<string>, from: number, where: string): [Pipeline, number] => {
  const commands: Array<Array<Operand>> = [[]]
  let i = from
  for (; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t === ")") break
    if (t === "|") commands.push([])
    else if (t === "(") {
      const [inner, next] = parsePipeline(tokens, i + 1, where)
      if (tokens[next] !== ")") throw new TemplateError({ message: `${where}: "(" is never closed` })
      commands[commands.length - 1]!.push({ kind: "pipe", pipe: inner })
      i = next
    } else commands[commands.length - 1]!.push(operand(t, where))
  }
  if (commands.some((c) => c.length === 0)) throw new TemplateError({ message: `${where}: an empty command in a pipeline` })
  return [commands, i]
}

const pipelineOf = (body: string, where: string): Pipeline => {
  const tokens = tokenize(body, where)
  const [pipe, end] = parsePipeline(tokens, 0, where)
  if (end !== tokens.length) throw new TemplateError({ message: `${where}: unbalanced ")"` })
  return pipe
}

/** Turns the items into a tree; `defines` collects the `define` blocks. */
export const parseTemplate = (name: string, source: string): ParsedTemplate => {
  const items = lex(name, source)
  const defines = new Map<string, ReadonlyArray<Node>>()
  let pos = 0
  /** Parses nodes until an `end` or `else` (returned, not consumed) or the end of input. */
  const block = (): { readonly nodes: Array<Node>; readonly stop: Item | undefined } => {
    const nodes: Array<Node> = []
    while (pos < items.length) {
      const item = items[pos]!
      if (item.kind === "text") {
        if (item.text !== "") nodes.push({ kind: "text", text: item.text })
        pos++
        continue
      }
      const keyword = /^(if|else|end|with|define|range|template|block)\b\s*(.*)$/s.exec(item.body)
      if (keyword === null) {
        nodes.push({ kind: "output", pipe: pipelineOf(item.body, item.where), where: item.where })
        pos++
        continue
      }
      if (keyword[1] === "end" || keyword[1] === "else") return { nodes, stop: item }
      pos++
      nodes.push(...control(keyword[1]!, keyword[2]!, item.where))
    }
    return { nodes, stop: undefined }
  }
  const control = (keyword: string, rest: string, where: string): Array<Node> => {
    if (keyword === "define") {
      const m = /^"([^"]+)"$/.exec(rest.trim())
      if (m === null) throw new TemplateError({ message: `${where}: define takes one quoted name` })
      defines.set(m[1]!, closed(where, false).then)
      return []
    }
    if (keyword !== "if" && keyword !== "with") throw new TemplateError({ message: `${where}: "${keyword}" is outside the template subset this chart keeps to` })
    const pipe = pipelineOf(rest, where)
    const { then, otherwise } = closed(where, true)
    return [{ kind: keyword, pipe, then, otherwise, where }]
  }
  /** The body up to the matching `end`, with an `else` or `else if` branch when allowed. */
  const closed = (where: string, elseAllowed: boolean): { readonly then: Array<Node>; readonly otherwise: Array<Node> } => {
    const first = block()
    if (first.stop === undefined) throw new TemplateError({ message: `${where}: no {{ end }} for this block` })
    pos++
    if (first.stop.kind === "action" && first.stop.body === "end") return { then: first.nodes, otherwise: [] }
    if (!elseAllowed) throw new TemplateError({ message: `${first.stop.kind === "action" ? first.stop.where : where}: else inside define` })
    const elseBody = first.stop.kind === "action" ? first.stop.body.replace(/^else\s*/, "") : ""
    if (elseBody.startsWith("if")) return { then: first.nodes, otherwise: control("if", elseBody.slice(2), where) }
    const second = block()
    if (second.stop === undefined || second.stop.kind !== "action" || second.stop.body !== "end") throw new TemplateError({ message: `${where}: no {{ end }} after {{ else }}` })
    pos++
    return { then: first.nodes, otherwise: second.nodes }
  }
  const top = block()
  if (top.stop !== undefined) throw new TemplateError({ message: `${top.stop.kind === "action" ? top.stop.where : name}: {{ ${top.stop.kind === "action" ? top.stop.body : ""} }} without a block to close` })
  return { nodes: top.nodes, defines }
}
