/**
 * The Users page's second table (GET /api/users, admin only): every user
 * with its access keys and the buckets it may use. A bucket belongs to the
 * user who created it, and only that user and the admin may use it
 * (docs/s3.md), so a user's buckets are the ones it owns; the admin's are
 * all of them. Refreshed whenever the key list changes.
 */
import type { UsersView } from "../../../runtime-node/src/console/contract.ts"
import { href } from "../route.ts"

const BucketLinks = ({ names }: { readonly names: ReadonlyArray<string> }) =>
  names.length === 0 ? <span class="detail">none</span> : <>{names.map((n, i) => <span key={n}>{i === 0 ? "" : ", "}<a href={href({ page: "objects", bucket: n, prefix: "" })}>{n}</a></span>)}</>

export const UserBuckets = ({ view }: { readonly view: UsersView | undefined }) => (
  <section aria-labelledby="user-buckets-title">
    <h2 id="user-buckets-title">Users and their buckets</h2>
    <p class="detail">A bucket belongs to the user who created it: only that user and the admin may use it.</p>
    {view === undefined ? <p>Loading…</p> : (
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Users and the buckets each may use</caption>
          <thead><tr><th scope="col">User</th><th scope="col">Access keys</th><th scope="col">Owns</th><th scope="col">May use</th></tr></thead>
          <tbody>
            {view.users.map((u) => (
              <tr key={u.user} data-user={u.user}>
                <th scope="row">{u.user}</th>
                <td>{u.accessKeys.length === 0 ? <span class="detail">{u.allBuckets ? "set at start-up" : "none (revoked)"}</span> : u.accessKeys.map((k) => <div key={k}><code>{k}</code></div>)}</td>
                <td data-testid={`owns-${u.user}`}><BucketLinks names={u.owns.map((b) => b.name)} /></td>
                <td>{u.allBuckets ? "every bucket (admin)" : u.owns.length === 0 ? "only buckets it creates (none yet)" : `its own ${u.owns.length === 1 ? "bucket" : `${u.owns.length} buckets`}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
)
