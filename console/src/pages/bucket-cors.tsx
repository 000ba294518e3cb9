/**
 * A bucket's CORS rules, a small form per rule: the origins, methods and
 * request headers a browser page may use, the response headers its script
 * may read, and how long a preflight answer is cached. One value a line;
 * `*` may stand for any part of an origin or header. Saving sends the whole
 * configuration (S3 has no per-rule change) and S3 judges it: its refusal
 * is shown as it says. With no rules, browsers on other origins are refused.
 */
import { useEffect, useState } from "preact/hooks"
import { CORS_METHODS, type CorsRule, deleteBucketCors, getBucketCors, putBucketCors } from "../api/bucket-settings.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"

const lines = (text: string): ReadonlyArray<string> => text.split("\n").map((l) => l.trim()).filter((l) => l !== "")
const NEW_RULE: CorsRule = { allowedOrigins: [], allowedMethods: ["GET"], allowedHeaders: [], exposeHeaders: [], maxAgeSeconds: "" }

type ListField = "allowedOrigins" | "allowedHeaders" | "exposeHeaders"
const LIST_FIELDS: ReadonlyArray<readonly [ListField, string, string]> = [
  ["allowedOrigins", "Allowed origins", "https://app.example.com"],
  ["allowedHeaders", "Allowed request headers", "content-type"],
  ["exposeHeaders", "Headers the page may read", "etag"]
]

const RuleFields = ({ rule, n, onChange, onRemove }: {
  readonly rule: CorsRule
  readonly n: number
  readonly onChange: (rule: CorsRule) => void
  readonly onRemove: () => void
}) => (
  <fieldset class="cors-rule">
    <legend>Rule {n}</legend>
    {LIST_FIELDS.map(([field, label, example]) => (
      <label key={field} class="stacked">
        {label} <span class="detail">(one a line)</span>
        <textarea aria-label={`Rule ${n} ${label.toLowerCase()}`} rows={2} placeholder={example} value={rule[field].join("\n")}
          onInput={(e) => onChange({ ...rule, [field]: e.currentTarget.value.split("\n") })} />
      </label>
    ))}
    <div role="group" aria-label={`Rule ${n} allowed methods`} class="inline">
      Allowed methods:
      {CORS_METHODS.map((m) => (
        <label key={m} class="check">
          <input type="checkbox" checked={rule.allowedMethods.includes(m)}
            onChange={(e) => onChange({ ...rule, allowedMethods: e.currentTarget.checked ? [...rule.allowedMethods, m] : rule.allowedMethods.filter((x) => x !== m) })} /> {m}
        </label>
      ))}
    </div>
    <label class="inline">
      Preflight cached for (seconds)
      <input aria-label={`Rule ${n} max age in seconds`} inputMode="numeric" value={rule.maxAgeSeconds} placeholder="e.g. 3000" onInput={(e) => onChange({ ...rule, maxAgeSeconds: e.currentTarget.value })} />
    </label>
    <button type="button" class="small" aria-label={`Remove rule ${n}`} onClick={onRemove}>Remove rule</button>
  </fieldset>
)

/** The rules as typed, with blank lines dropped: what is sent. */
const cleaned = (rules: ReadonlyArray<CorsRule>): ReadonlyArray<CorsRule> =>
  rules.map((r) => ({ ...r, allowedOrigins: lines(r.allowedOrigins.join("\n")), allowedHeaders: lines(r.allowedHeaders.join("\n")), exposeHeaders: lines(r.exposeHeaders.join("\n")) }))

export const BucketCors = ({ bucket }: { readonly bucket: string }) => {
  const [rules, setRules] = useState<ReadonlyArray<CorsRule> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  useEffect(() => {
    setRules(undefined)
    getBucketCors(bucket).then(setRules, (e) => setError(messageOf(e)))
  }, [bucket])

  const act = async (change: () => Promise<void>, done: string) => {
    try {
      await change()
      setRules(await getBucketCors(bucket))
      setError(undefined)
      setNotice(done)
    } catch (e) {
      setNotice(undefined)
      setError(messageOf(e))
    }
  }
  const save = (e: Event) => {
    e.preventDefault()
    const sent = cleaned(rules ?? [])
    void act(() => sent.length === 0 ? deleteBucketCors(bucket) : putBucketCors(bucket, sent), sent.length === 0 ? "Removed the CORS configuration." : `Saved ${sent.length} CORS rule${sent.length === 1 ? "" : "s"}.`)
  }

  if (rules === undefined) return error === undefined ? <p>Loading CORS rules…</p> : <ErrorMessage error={error} />
  return (
    <form onSubmit={save} aria-labelledby="cors-title" class="cors">
      <h2 id="cors-title">CORS</h2>
      <p class="detail">Which web pages on other origins may call this bucket from a browser.{rules.length === 0 ? " No rules: such calls are refused." : ""}</p>
      {rules.map((r, i) => (
        <RuleFields key={i} rule={r} n={i + 1} onChange={(next) => setRules(rules.map((old, j) => (j === i ? next : old)))} onRemove={() => setRules(rules.filter((_, j) => j !== i))} />
      ))}
      <div class="inline">
        <button type="button" onClick={() => setRules([...rules, NEW_RULE])}>Add CORS rule</button>{" "}
        <button type="submit">Save CORS rules</button>{" "}
        <button type="button" class="danger" onClick={() => void act(() => deleteBucketCors(bucket), "Removed the CORS configuration.")}>Delete CORS configuration</button>
      </div>
      <ErrorMessage error={error} />
      <Notice text={notice} />
    </form>
  )
}
