/**
 * Per-bucket CORS: the rules are stored as JSON in the bucket's `cors`
 * attribute; a preflight (OPTIONS) or an actual request with an Origin is
 * answered from the first rule that allows its origin, method and headers,
 * as S3 does. Patterns may contain one `*` wildcard.
 */
import type { Attributes } from "../object/object-api.ts"
import { attribute } from "./attributes.ts"
import type { CorsRule } from "./xml-parse.ts"

export const corsRulesOf = (attributes: Attributes): ReadonlyArray<CorsRule> | undefined => {
  const text = attribute(attributes, "cors")
  if (text === undefined) return undefined
  try {
    const rules = JSON.parse(text) as ReadonlyArray<CorsRule>
    return Array.isArray(rules) ? rules : undefined
  } catch {
    return undefined
  }
}

export const wildcardMatch = (pattern: string, value: string): boolean => {
  const star = pattern.indexOf("*")
  if (star < 0) return pattern === value
  const head = pattern.slice(0, star)
  const tail = pattern.slice(star + 1)
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail)
}

export const matchCorsRule = (
  rules: ReadonlyArray<CorsRule>,
  origin: string,
  method: string,
  requestHeaders: ReadonlyArray<string>
): CorsRule | undefined =>
  rules.find((rule) =>
    rule.allowedOrigins.some((o) => wildcardMatch(o, origin)) &&
    rule.allowedMethods.includes(method) &&
    requestHeaders.every((h) => rule.allowedHeaders.some((p) => wildcardMatch(p.toLowerCase(), h.toLowerCase())))
  )

/** The Access-Control-* headers for a matched rule. */
export const corsHeaders = (rule: CorsRule, origin: string, preflight: { readonly requestHeaders: ReadonlyArray<string> } | undefined): Array<readonly [string, string]> => {
  const anyOrigin = rule.allowedOrigins.includes("*")
  const out: Array<readonly [string, string]> = [
    ["access-control-allow-origin", anyOrigin ? "*" : origin],
    ["access-control-allow-methods", rule.allowedMethods.join(", ")],
    ["vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"]
  ]
  if (!anyOrigin) out.push(["access-control-allow-credentials", "true"])
  if (preflight !== undefined && preflight.requestHeaders.length > 0) out.push(["access-control-allow-headers", preflight.requestHeaders.join(", ")])
  if (rule.exposeHeaders.length > 0) out.push(["access-control-expose-headers", rule.exposeHeaders.join(", ")])
  if (preflight !== undefined && rule.maxAgeSeconds !== undefined) out.push(["access-control-max-age", String(rule.maxAgeSeconds)])
  return out
}
