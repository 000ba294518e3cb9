/**
 * S3 access keys (the admin API's `/v1/admin/s3/users`): list, add (the
 * secret shown once), revoke; below, each user's buckets (user-buckets.tsx).
 */
import { useEffect, useState } from "preact/hooks"
import type { UsersView } from "../../../runtime-node/src/console/contract.ts"
import { callJson } from "../api/client.ts"
import { formatTime } from "../format.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { UserBuckets } from "./user-buckets.tsx"

interface KeyInfo {
  readonly accessKey: string
  readonly user: string
  readonly createdMs: number
}

export const Users = () => {
  const [keys, setKeys] = useState<ReadonlyArray<KeyInfo> | undefined>(undefined)
  const [user, setUser] = useState("")
  const [created, setCreated] = useState<(KeyInfo & { readonly secretKey: string }) | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [owned, setOwned] = useState<UsersView | undefined>(undefined)
  const load = () =>
    Promise.all([
      callJson<{ readonly keys: ReadonlyArray<KeyInfo> }>("GET", "/api/admin/s3/users").then((r) => setKeys(r.keys), (e) => setError(messageOf(e))),
      callJson<UsersView>("GET", "/api/users").then(setOwned, (e) => setError(messageOf(e)))
    ])
  useEffect(() => void load(), [])

  const add = async (e: Event) => {
    e.preventDefault()
    try {
      setCreated(await callJson<KeyInfo & { readonly secretKey: string }>("POST", "/api/admin/s3/users", { user: user.trim() }))
      setUser("")
      setError(undefined)
      await load()
    } catch (err) {
      setError(messageOf(err))
    }
  }
  const revoke = async (k: KeyInfo) => {
    try {
      await callJson("DELETE", `/api/admin/s3/users/${encodeURIComponent(k.accessKey)}`)
      setNotice(`Revoked ${k.accessKey} of ${k.user}.`)
      await load()
    } catch (err) {
      setError(messageOf(err))
    }
  }

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and keys</h1>
      <form class="inline" onSubmit={add}>
        <label for="new-user">User name</label>
        <input id="new-user" value={user} required onInput={(e) => setUser(e.currentTarget.value)} />
        <button type="submit">Add key</button>
      </form>
      <ErrorMessage error={error} />
      <Notice text={notice} />
      {created === undefined ? null : (
        <div class="secret-once" role="alert">
          <p>New key for <strong>{created.user}</strong>. The secret is shown only now: store it safely.</p>
          <dl>
            <dt>Access key</dt><dd><code data-testid="new-access-key">{created.accessKey}</code></dd>
            <dt>Secret key</dt><dd><code data-testid="new-secret-key">{created.secretKey}</code></dd>
          </dl>
          <button type="button" onClick={() => setCreated(undefined)}>I have stored it</button>
        </div>
      )}
      {keys === undefined ? <p>Loading…</p> : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Access keys</caption>
            <thead><tr><th scope="col">Access key</th><th scope="col">User</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.accessKey}>
                  <th scope="row"><code>{k.accessKey}</code></th>
                  <td>{k.user}</td>
                  <td>{formatTime(new Date(k.createdMs).toISOString())}</td>
                  <td><button type="button" class="small" onClick={() => revoke(k)} aria-label={`Revoke ${k.accessKey}`}>Revoke</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <UserBuckets view={owned} />
    </section>
  )
}
