/**
 * The Cairn console's single page: the session (or the sign-in form), the
 * navigation, and the page the URL's fragment names. See docs/console.md.
 */
import { render } from "preact"
import { useEffect, useState } from "preact/hooks"
import type { SessionInfo } from "../../runtime-node/src/console/contract.ts"
import { ApiError, callJson, setCsrfToken, whenSignedOut } from "./api/client.ts"
import { messageOf } from "./messages.tsx"
import { Buckets } from "./pages/buckets.tsx"
import { Cluster } from "./pages/cluster.tsx"
import { GroupDetails } from "./pages/group.tsx"
import { Groups } from "./pages/groups.tsx"
import { ObjectDetails } from "./pages/object-details.tsx"
import { Objects } from "./pages/objects.tsx"
import { Reports } from "./pages/reports.tsx"
import { SignIn } from "./pages/sign-in.tsx"
import { TopicDetails } from "./pages/topic.tsx"
import { Topics } from "./pages/topics.tsx"
import { Users } from "./pages/users.tsx"
import { Versions } from "./pages/versions.tsx"
import { href, type Route, useRoute } from "./route.ts"
import "./style.css"

const Page = ({ route, admin }: { readonly route: Route; readonly admin: boolean }) => {
  switch (route.page) {
    case "buckets":
      return <Buckets />
    case "objects":
      return <Objects bucket={route.bucket} prefix={route.prefix} search={route.search ?? ""} flat={route.flat ?? false} deleted={route.deleted ?? false} settings={route.settings ?? false} />
    case "object":
      return <ObjectDetails bucket={route.bucket} keyName={route.key} />
    case "versions":
      return <Versions bucket={route.bucket} keyName={route.key} />
    case "cluster":
      return <Cluster admin={admin} />
    case "users":
      return <Users />
    case "reports":
      return <Reports />
    case "topics":
      return <Topics admin={admin} />
    case "topic":
      return <TopicDetails topic={route.topic} admin={admin} />
    case "groups":
      return <Groups />
    case "group":
      return <GroupDetails group={route.group} admin={admin} />
  }
}

const App = () => {
  const route = useRoute()
  // undefined: not known yet; null: signed out.
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined)
  const [reason, setReason] = useState<string | undefined>(undefined)

  useEffect(() => {
    whenSignedOut((message) => {
      setReason(message)
      setSession(null)
    })
    callJson<SessionInfo>("GET", "/api/session").then((s) => {
      setCsrfToken(s.csrfToken)
      setSession(s)
    }, (e) => {
      if (e instanceof ApiError && e.code === "session-expired") setReason(e.message)
      else if (!(e instanceof ApiError && e.status === 401)) setReason(messageOf(e))
      setSession(null)
    })
  }, [])

  const signOut = async () => {
    try {
      await callJson("DELETE", "/api/session")
      setReason("You are signed out.")
    } catch (e) {
      setReason(`Signed out here, but the node said: ${messageOf(e)}`)
    }
    setSession(null)
  }

  if (session === undefined) return <p class="loading">Loading…</p>
  if (session === null) return <SignIn reason={reason} onSignedIn={(s) => { setReason(undefined); setSession(s) }} />
  const current = (page: Route["page"]) => (route.page === page || (page === "buckets" && (route.page === "objects" || route.page === "object" || route.page === "versions")) || (page === "topics" && route.page === "topic") || (page === "groups" && route.page === "group") ? "page" : undefined)
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <span class="brand">Cairn</span>
        <nav aria-label="Main">
          <a href={href({ page: "buckets" })} aria-current={current("buckets")}>Buckets</a>
          <a href={href({ page: "topics" })} aria-current={current("topics")}>Topics</a>
          <a href={href({ page: "groups" })} aria-current={current("groups")}>Groups</a>
          <a href={href({ page: "cluster" })} aria-current={current("cluster")}>Cluster</a>
          {session.admin ? <a href={href({ page: "users" })} aria-current={current("users")}>Users</a> : null}
          {session.admin ? <a href={href({ page: "reports" })} aria-current={current("reports")}>Reports</a> : null}
        </nav>
        <span class="who">
          {session.user} <span class="detail">({session.accessKey}, node {session.node})</span>
        </span>
        <button type="button" onClick={signOut}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} admin={session.admin} />
      </main>
    </>
  )
}

render(<App />, document.getElementById("app")!)
