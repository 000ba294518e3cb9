/** Sign-in with a Cairn access key and its secret, checked by the node against its user store. */
import { useState } from "preact/hooks"
import type { SessionInfo } from "../../../runtime-node/src/console/contract.ts"
import { callJson, setCsrfToken } from "../api/client.ts"
import { ErrorMessage, messageOf } from "../messages.tsx"

export const SignIn = ({ onSignedIn, reason }: { readonly onSignedIn: (s: SessionInfo) => void; readonly reason: string | undefined }) => {
  const [accessKey, setAccessKey] = useState("")
  const [secretKey, setSecretKey] = useState("")
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const session = await callJson<SessionInfo>("POST", "/api/session", { accessKey, secretKey })
      setCsrfToken(session.csrfToken)
      onSignedIn(session)
    } catch (err) {
      setError(messageOf(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="sign-in">
      <h1>Cairn console</h1>
      {reason === undefined ? null : <p class="message notice" role="status">{reason}</p>}
      <form onSubmit={submit} aria-describedby="sign-in-help">
        <p id="sign-in-help">Sign in with a Cairn access key and its secret (the admin's, or one from <code>cairn admin</code>).</p>
        <label for="access-key">Access key</label>
        <input id="access-key" name="accessKey" autocomplete="username" required value={accessKey} onInput={(e) => setAccessKey(e.currentTarget.value)} />
        <label for="secret-key">Secret key</label>
        <input id="secret-key" name="secretKey" type="password" autocomplete="current-password" required value={secretKey} onInput={(e) => setSecretKey(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
        <ErrorMessage error={error} />
      </form>
    </main>
  )
}
