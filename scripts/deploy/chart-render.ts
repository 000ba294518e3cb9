/**
 * Renders a Helm chart whose templates keep to the subset of
 * chart-template-parse.ts, as `helm template RELEASE CHART --namespace NS
 * --set ...` would: values.yaml deep-merged with the overrides, the
 * context `.Values`, `.Release` (Name, Namespace, Service), `.Chart`
 * (Chart.yaml's keys capitalised, as Helm exposes them) and `.Files.Get`
 * (files under the chart), `define`s shared by every template, files
 * starting with "_" rendering nothing. Used by the chart's render test;
 * no helm binary is available where this project is built.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { parse } from "yaml"
import { type Node, parseTemplate, TemplateError } from "./chart-template-parse.ts"
import { renderNodes, type Scope, type Value } from "./chart-template-eval.ts"

export interface RenderedTemplate {
  readonly template: string
  readonly text: string
}

const isMap = (v: Value): v is Record<string, Value> => v !== null && typeof v === "object" && !Array.isArray(v)

/** Helm's coalescing of values: maps merge key by key, anything else the override replaces. */
export const mergeValues = (base: Value, override: Value): Value => {
  if (!isMap(base) || !isMap(override)) return override === undefined ? base : override
  const out: Record<string, Value> = { ...base }
  for (const [k, v] of Object.entries(override)) out[k] = mergeValues(base[k], v)
  return out
}

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)])).sort()

const chartContext = (chartDir: string): Record<string, Value> => {
  const chart = parse(readFileSync(join(chartDir, "Chart.yaml"), "utf8")) as Record<string, Value>
  return Object.fromEntries(Object.entries(chart).map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), v]))
}

export const renderChart = (
  chartDir: string,
  options: { readonly release: string; readonly namespace: string; readonly values?: Record<string, Value> }
): Array<RenderedTemplate> => {
  const values = mergeValues(parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) ?? {}, options.values ?? {})
  const files = new Map(filesUnder(chartDir).map((f) => [relative(chartDir, f), f]))
  const root = {
    Values: values,
    Release: { Name: options.release, Namespace: options.namespace, Service: "Helm" },
    Chart: chartContext(chartDir),
    Files: {
      Get: (path: Value) => {
        const file = files.get(String(path))
        if (file === undefined) throw new TemplateError({ message: `.Files.Get: no file ${String(path)} in the chart` })
        return readFileSync(file, "utf8")
      }
    }
  }
  const templates = filesUnder(join(chartDir, "templates")).map((f) => ({ name: relative(chartDir, f), parsed: parseTemplate(relative(chartDir, f), readFileSync(f, "utf8")) }))
  const defines = new Map<string, ReadonlyArray<Node>>()
  for (const t of templates) for (const [name, body] of t.parsed.defines) defines.set(name, body)
  const include = (name: string, dot: Value, where: string): string => {
    const body = defines.get(name)
    if (body === undefined) throw new TemplateError({ message: `${where}: include of "${name}", which no template defines` })
    return renderNodes(body, scope(dot))
  }
  const scope = (dot: Value): Scope => ({ root, dot, include })
  return templates
    .filter((t) => !t.name.split("/").pop()!.startsWith("_"))
    .map((t) => ({ template: t.name, text: renderNodes(t.parsed.nodes, scope(root)) }))
}
