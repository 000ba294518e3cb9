/**
 * Evaluates templates parsed by chart-template-parse.ts the way Helm does
 * for the subset: Go's truth (false, 0, "", nil and empty collections are
 * false), the pipeline's value passed as the last argument, and the few
 * Helm/Sprig functions the chart uses (include, default, quote, toYaml,
 * indent, nindent, eq, ne, not, and, or, printf with %s/%d/%v, required).
 * Stricter than Helm in one way: printing a value that does not exist is an
 * error (Helm prints an empty string), so a misspelt value name fails the
 * render test instead of rendering as nothing.
 */
import { stringify } from "yaml"
import { type Command, type Node, type Operand, type Pipeline, TemplateError } from "./chart-template-parse.ts"

export type Value = unknown

export const truthy = (v: Value): boolean => {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === "object") return Object.keys(v).length > 0
  return true
}

const text = (v: Value, where: string): string => {
  if (typeof v === "string") return v
  if (typeof v === "number" || typeof v === "boolean") return String(v)
  if (v === undefined || v === null) throw new TemplateError({ message: `${where}: the value printed here does not exist (a misspelt value name?)` })
  throw new TemplateError({ message: `${where}: a map or list printed as text; pass it through toYaml` })
}

const indentLines = (n: number, s: string): string => s.split("\n").map((line) => " ".repeat(n) + line).join("\n")

const printf = (format: string, args: ReadonlyArray<Value>, where: string): string => {
  let i = 0
  return format.replace(/%([sdv%])/g, (_, verb: string) => {
    if (verb === "%") return "%"
    if (i >= args.length) throw new TemplateError({ message: `${where}: printf "${format}" has more verbs than arguments` })
    return text(args[i++], where)
  })
}

export interface Scope {
  readonly root: Value
  readonly dot: Value
  readonly include: (name: string, dot: Value, where: string) => string
}

type Fn = (args: ReadonlyArray<Value>, scope: Scope, where: string) => Value

const arity = (name: string, args: ReadonlyArray<Value>, n: number, where: string): void => {
  if (args.length !== n) throw new TemplateError({ message: `${where}: ${name} takes ${n} argument(s), got ${args.length}` })
}

const functions: Readonly<Record<string, Fn>> = {
  include: (a, scope, where) => (arity("include", a, 2, where), scope.include(text(a[0], where), a[1], where)),
  default: (a, _, where) => (arity("default", a, 2, where), truthy(a[1]) ? a[1] : a[0]),
  quote: (a, _, where) => (arity("quote", a, 1, where), JSON.stringify(a[0] === undefined || a[0] === null ? "" : text(a[0], where))),
  toYaml: (a, _, where) => (arity("toYaml", a, 1, where), stringify(a[0] ?? null, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, "")),
  indent: (a, _, where) => (arity("indent", a, 2, where), indentLines(Number(a[0]), text(a[1], where))),
  nindent: (a, _, where) => (arity("nindent", a, 2, where), `\n${indentLines(Number(a[0]), text(a[1], where))}`),
  eq: (a, _, where) => (arity("eq", a, 2, where), a[0] === a[1]),
  ne: (a, _, where) => (arity("ne", a, 2, where), a[0] !== a[1]),
  not: (a, _, where) => (arity("not", a, 1, where), !truthy(a[0])),
  and: (a) => a.every(truthy),
  or: (a) => a.some(truthy),
  printf: (a, _, where) => printf(text(a[0], where), a.slice(1), where),
  required: (a, _, where) => {
    arity("required", a, 2, where)
    if (!truthy(a[1])) throw new TemplateError({ message: `${where}: ${text(a[0], where)}` })
    return a[1]
  }
}

const field = (base: Value, path: ReadonlyArray<string>): Value => {
  let v = base
  for (const key of path) v = v !== null && typeof v === "object" ? (v as Record<string, Value>)[key] : undefined
  return v
}

const operandValue = (op: Operand, scope: Scope, where: string): Value => {
  switch (op.kind) {
    case "literal":
      return op.value
    case "field":
      return field(op.root === "root" ? scope.root : scope.dot, op.path)
    case "pipe":
      return evalPipeline(op.pipe, scope, where)
    case "ident":
      return call(op.name, [], scope, where)
  }
}

const call = (name: string, args: ReadonlyArray<Value>, scope: Scope, where: string): Value => {
  const fn = functions[name]
  if (fn === undefined) throw new TemplateError({ message: `${where}: function "${name}" is outside the template subset this chart keeps to` })
  return fn(args, scope, where)
}

const evalCommand = (command: Command, piped: ReadonlyArray<Value>, scope: Scope, where: string): Value => {
  const [head, ...rest] = command
  const args = [...rest.map((op) => operandValue(op, scope, where)), ...piped]
  if (head!.kind === "ident") return call(head.name, args, scope, where)
  const value = operandValue(head!, scope, where)
  // A method of the context, such as .Files.Get "path".
  if (typeof value === "function") return (value as (...a: ReadonlyArray<Value>) => Value)(...args)
  if (args.length > 0) throw new TemplateError({ message: `${where}: arguments given to a value that is not a function` })
  return value
}

export const evalPipeline = (pipe: Pipeline, scope: Scope, where: string): Value => {
  let value: Value = undefined
  pipe.forEach((command, i) => {
    value = evalCommand(command, i === 0 ? [] : [value], scope, where)
  })
  return value
}

export const renderNodes = (nodes: ReadonlyArray<Node>, scope: Scope): string =>
  nodes.map((node): string => {
    if (node.kind === "text") return node.text
    const value = evalPipeline(node.pipe, scope, node.where)
    if (node.kind === "output") return text(value, node.where)
    if (!truthy(value)) return renderNodes(node.otherwise, scope)
    return renderNodes(node.then, node.kind === "with" ? { ...scope, dot: value } : scope)
  }).join("")
