/**
 * The template subset chart-render.ts implements, on small charts written
 * here: Go's whitespace trimming, if / else if / else, with, define and
 * include, pipelines and the functions, values merged over values.yaml,
 * .Files.Get; and the refusals: a construct outside the subset, an unknown
 * function and a misspelt value each fail with the template and line.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { mergeValues, renderChart } from "./chart-render.ts"

const scratch = mkdtempSync(join(tmpdir(), "cairn-chart-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
let charts = 0

/** A chart with these values and templates; returns each template's rendering. */
const render = (values: string, templates: Record<string, string>, overrides: Record<string, unknown> = {}): Record<string, string> => {
  const dir = join(scratch, `chart${++charts}`)
  mkdirSync(join(dir, "templates"), { recursive: true })
  mkdirSync(join(dir, "files"), { recursive: true })
  writeFileSync(join(dir, "Chart.yaml"), "apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: \"4.5\"\n")
  writeFileSync(join(dir, "values.yaml"), values)
  writeFileSync(join(dir, "files", "hello.txt"), "line one\nline two\n")
  for (const [name, text] of Object.entries(templates)) writeFileSync(join(dir, "templates", name), text)
  return Object.fromEntries(renderChart(dir, { release: "rel", namespace: "ns", values: overrides }).map((t) => [t.template.replace("templates/", ""), t.text]))
}

describe("chart-render: the template subset", () => {
  it("trims whitespace beside {{- and -}}, newlines included, and drops comments", () => {
    const out = render("a: x\n", { "t.yaml": "k:\n  {{- /* gone */}}\n  {{- .Values.a }}  \n{{ .Values.a -}}\n\n  y\n" })
    expect(out["t.yaml"]).toBe("k:x  \nxy\n")
  })

  it("chooses if / else if / else branches by Go's truth, and with rebinds the dot", () => {
    const tpl = "{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}|{{ with .Values.m }}{{ .k }}{{ else }}none{{ end }}"
    expect(render("a: 1\nb: 1\nm: {k: v}\n", { "t": tpl })["t"]).toBe("A|v")
    expect(render("a: 0\nb: yes\nm: {}\n", { "t": tpl })["t"]).toBe("B|none")
    expect(render("a: \"\"\nb: []\n", { "t": tpl })["t"]).toBe("C|none")
  })

  it("runs pipelines, include of a define, the functions, $ and .Files.Get; templates named _* render nothing", () => {
    const out = render("name: web\nres: {limits: {cpu: 1}, b: [x, y]}\nn: 3\n", {
      "_helpers.tpl": "{{- define \"demo.name\" -}}{{ .Release.Name }}-{{ .Values.name }}{{- end }}",
      "t.yaml": [
        "name: {{ include \"demo.name\" . }}",
        "chart: {{ printf \"%s-%s\" .Chart.Name .Chart.Version }} {{ .Chart.AppVersion | quote }}",
        "n: {{ .Values.n | quote }} {{ .Values.missing | default \"dflt\" }} {{ eq .Values.n 3 }} {{ not (eq .Values.name \"web\") }}",
        "res:{{ toYaml .Values.res | nindent 2 }}",
        "root: {{ with .Values.res }}{{ $.Values.name }}{{ end }}",
        "file: |{{ .Files.Get \"files/hello.txt\" | nindent 2 }}"
      ].join("\n")
    })
    expect(Object.keys(out)).toEqual(["t.yaml"])
    expect(out["t.yaml"]).toBe([
      "name: rel-web",
      "chart: demo-1.2.3 \"4.5\"",
      "n: \"3\" dflt true false",
      "res:\n  b:\n    - x\n    - y\n  limits:\n    cpu: 1",
      "root: web",
      "file: |\n  line one\n  line two\n  "
    ].join("\n"))
  })

  it("merges values given at render time over values.yaml, maps key by key", () => {
    expect(mergeValues({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2, 3] })).toEqual({ a: { b: 1, c: 3 }, d: [2, 3] })
    expect(render("a: {b: 1, c: 2}\n", { "t": "{{ .Values.a.b }}{{ .Values.a.c }}" }, { a: { c: 9 } })["t"]).toBe("19")
  })

  it("refuses what is outside the subset, an unknown function, a misspelt value and a failed required, naming the place", () => {
    expect(() => render("l: [1]\n", { "t.yaml": "a\n{{ range .Values.l }}x{{ end }}" })).toThrow(/templates\/t\.yaml:2: "range" is outside the template subset/)
    expect(() => render("a: 1\n", { "t.yaml": "{{ $x := .Values.a }}" })).toThrow(/outside the template subset/)
    expect(() => render("a: 1\n", { "t.yaml": "{{ .Values.a | upper }}" })).toThrow(/function "upper" is outside the template subset/)
    expect(() => render("name: 1\n", { "t.yaml": "\n\n{{ .Values.nmae }}" })).toThrow(/templates\/t\.yaml:3: the value printed here does not exist/)
    expect(() => render("m: {a: 1}\n", { "t.yaml": "{{ .Values.m }}" })).toThrow(/pass it through toYaml/)
    expect(() => render("a: \"\"\n", { "t.yaml": "{{ required \"set a\" .Values.a }}" })).toThrow(/set a/)
    expect(() => render("a: 1\n", { "t.yaml": "{{ if .Values.a }}open" })).toThrow(/no \{\{ end \}\}/)
  })
})
