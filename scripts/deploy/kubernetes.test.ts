/**
 * deploy/kubernetes (a kustomize base) and deploy/helm/cairn (a Helm chart),
 * rendered offline and checked, with no Kubernetes cluster:
 *
 * - `kubectl kustomize` (/usr/bin/kubectl; Debian's kubernetes-client, which
 *   .ci/run installs) renders the base, and the objects pass the checks of
 *   manifest-checks.ts; a broken copy of them fails those checks;
 * - an overlay replacing the empty Secret, as docs/kubernetes.md says to
 *   install it, renders the Secret with the given values;
 * - the chart, rendered by chart-render.ts (no helm binary exists here; the
 *   chart keeps to the template subset that renderer implements), gives
 *   with its default values and release name "cairn" the very objects the
 *   base gives, Helm's bookkeeping labels aside; with other values (another
 *   release, five members, soft anti-affinity, an existing Secret, a
 *   StorageClass) it passes the same checks;
 * - the chart's copies of the pod scripts are the base's.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { renderChart } from "./chart-render.ts"
import { checkManifests, findObject, type K8sObject, parseManifests } from "./manifest-checks.ts"

const repo = join(import.meta.dirname, "..", "..")
const base = join(repo, "deploy", "kubernetes")
const chart = join(repo, "deploy", "helm", "cairn")
// KUBECTL: another kubectl to check with (e.g. a newer one); CI uses Debian's.
const KUBECTL = process.env["KUBECTL"] ?? "/usr/bin/kubectl"

const scratch = mkdtempSync(join(tmpdir(), "cairn-k8s-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const kustomize = (dir: string): Array<K8sObject> => {
  const r = spawnSync(KUBECTL, ["kustomize", dir], { encoding: "utf8", timeout: 60_000 })
  if (r.error !== undefined) throw new Error(`cannot run ${KUBECTL} (on Debian: apt-get install kubernetes-client; .ci/run does): ${r.error.message}`)
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`)
  return parseManifests(r.stdout)
}

const helm = (release: string, values: Record<string, unknown> = {}): Array<K8sObject> =>
  parseManifests(renderChart(chart, { release, namespace: "default", values }).map((t) => t.text).join("\n---\n"))

/** The value at a path of keys and indexes, or undefined. */
const at = (v: unknown, ...path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string | number, unknown>)[k] : undefined), v)
/** Sets the value at a path that exists (for breaking a copy of the objects on purpose). */
const put = (v: unknown, path: ReadonlyArray<string | number>, value: unknown): void => {
  const parent = at(v, ...path.slice(0, -1)) as Record<string | number, unknown>
  parent[path[path.length - 1]!] = value
}
const envOf = (container: unknown): Record<string, unknown> =>
  Object.fromEntries((at(container, "env") as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value ?? e]))

const key = (o: K8sObject) => `${String(o.kind)}/${String(o.metadata?.name)}`
const byKey = (objects: ReadonlyArray<K8sObject>) => new Map(objects.map((o) => [key(o), o]))

/** Helm's bookkeeping labels, which a kustomize render has no reason to carry. */
const helmOnlyLabels = ["helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"]
const withoutHelmLabels = (o: K8sObject): K8sObject => {
  const metadata = o.metadata as Record<string, unknown>
  const labels = Object.fromEntries(Object.entries((metadata["labels"] ?? {}) as Record<string, unknown>).filter(([k]) => !helmOnlyLabels.includes(k)))
  const stripped: Record<string, unknown> = { ...metadata, labels }
  return { ...o, metadata: stripped }
}

describe("deploy/kubernetes: the kustomize base", () => {
  const objects = kustomize(base)

  it("renders a StatefulSet, three Services, a PodDisruptionBudget, the Secret and the scripts' ConfigMap", () => {
    expect([...byKey(objects).keys()].sort()).toEqual([
      "ConfigMap/cairn-scripts",
      "PodDisruptionBudget/cairn",
      "Secret/cairn-secrets",
      "Service/cairn",
      "Service/cairn-console",
      "Service/cairn-peers",
      "StatefulSet/cairn"
    ])
  })

  it("passes the checks Kubernetes would make", () => {
    expect(checkManifests(objects)).toEqual([])
  })

  it("serves the console on a Service that keeps a browser on one pod (sessions live in a node's memory)", () => {
    const service = byKey(objects).get("Service/cairn-console")
    expect(at(service, "spec", "sessionAffinity")).toBe("ClientIP")
    expect(at(service, "spec", "ports", 0, "targetPort")).toBe("console")
    const ports = at(findObject(objects, "StatefulSet"), "spec", "template", "spec", "containers", 0, "ports") as ReadonlyArray<{ readonly name: string; readonly containerPort: number }>
    expect(ports).toContainEqual({ name: "console", containerPort: 9001 })
  })

  it("spreads pods over nodes and zones, passes the zone on, and stops within the node's graceful stop", () => {
    const pod = at(findObject(objects, "StatefulSet"), "spec", "template", "spec")
    expect(at(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", 0, "topologyKey")).toBe("kubernetes.io/hostname")
    expect(at(pod, "topologySpreadConstraints", 0, "topologyKey")).toBe("topology.kubernetes.io/zone")
    expect(at(envOf(at(pod, "containers", 0)), "CAIRN_ZONE", "valueFrom", "fieldRef", "fieldPath")).toBe("metadata.labels['topology.kubernetes.io/zone']")
    // 10 s for requests in flight and 3 s for the last spans (docs/server.md), with room to close the WAL.
    expect(at(pod, "terminationGracePeriodSeconds")).toBeGreaterThanOrEqual(20)
    expect(at(pod, "securityContext", "runAsUser")).toBe(10001)
    expect(at(pod, "enableServiceLinks")).toBe(false)
  })

  it("the checks find what is wrong in a broken rendering", () => {
    const broken = structuredClone(objects)
    const sts = findObject(broken, "StatefulSet")
    put(sts, ["spec", "serviceName"], "cairn-nope")
    put(sts, ["spec", "template", "spec", "containers", 0, "readinessProbe", "httpGet", "path"], "/health")
    put(sts, ["spec", "selector", "matchLabels", "app.kubernetes.io/instance"], "other")
    put(sts, ["spec", "volumeClaimTemplates", 0, "metadata", "name"], "disk")
    put(findObject(broken, "PodDisruptionBudget"), ["spec", "selector", "matchLabels", "app.kubernetes.io/name"], "x")
    put(findObject(broken, "Secret"), ["stringData"], { "cluster-secret": "" })
    const problems = checkManifests(broken).join("\n")
    expect(problems).toContain("serviceName cairn-nope names no rendered Service")
    expect(problems).toContain("readinessProbe must be an httpGet of /ready")
    expect(problems).toContain("spec.selector.matchLabels must match")
    expect(problems).toContain("mounts volume data")
    expect(problems).toContain("PodDisruptionBudget: its selector matches no pod")
    expect(problems).toContain("Secret cairn-secrets with key access-key is not rendered")
  })

  it("an overlay replaces the empty Secret with the operator's values", () => {
    const overlay = join(scratch, "overlay")
    mkdirSync(overlay, { recursive: true })
    // `bases:` rather than `resources:` so that kubectl 1.20's kustomize (Debian 12's) reads it too.
    writeFileSync(join(overlay, "kustomization.yaml"), [
      "bases:",
      `  - ${relative(overlay, base)}`,
      "secretGenerator:",
      "  - name: cairn-secrets",
      "    behavior: replace",
      "    literals:",
      "      - cluster-secret=0123456789abcdef0123456789",
      "      - access-key=CAIRNADMIN",
      "      - secret-key=an-admin-secret",
      ""
    ].join("\n"))
    const rendered = kustomize(overlay)
    const data = at(findObject(rendered, "Secret"), "data")
    expect(Buffer.from(String(at(data, "cluster-secret")), "base64").toString()).toBe("0123456789abcdef0123456789")
    expect(Buffer.from(String(at(data, "access-key")), "base64").toString()).toBe("CAIRNADMIN")
    expect(checkManifests(rendered)).toEqual([])
  })
})

describe("deploy/helm/cairn: the chart", () => {
  it("renders, with its defaults and the release name cairn, the objects the kustomize base renders", () => {
    const fromChart = byKey(helm("cairn").map(withoutHelmLabels))
    const fromBase = byKey(kustomize(base).map(withoutHelmLabels))
    expect([...fromChart.keys()].sort()).toEqual([...fromBase.keys()].sort())
    for (const [k, o] of fromBase) expect(fromChart.get(k), k).toEqual(o)
  })

  it("carries Helm's labels on its objects but never in selectors or claim templates", () => {
    const sts = findObject(helm("cairn"), "StatefulSet")
    expect(at(sts, "metadata", "labels", "helm.sh/chart")).toBe("cairn-0.1.0")
    const selectorKeys = ["app.kubernetes.io/instance", "app.kubernetes.io/name"]
    expect(Object.keys(at(sts, "spec", "selector", "matchLabels") as object).sort()).toEqual(selectorKeys)
    expect(Object.keys(at(sts, "spec", "template", "metadata", "labels") as object).sort()).toEqual(selectorKeys)
    expect(Object.keys(at(sts, "spec", "volumeClaimTemplates", 0, "metadata", "labels") as object).sort()).toEqual(selectorKeys)
  })

  it("renders other values consistently: names from the release, five members, soft anti-affinity, an existing Secret, a StorageClass", () => {
    const objects = helm("store", {
      replicas: 5,
      initialMembers: 5,
      antiAffinity: "soft",
      auth: { existingSecret: "my-cairn-secret" },
      persistence: { storageClass: "fast", size: "100Gi" },
      nodeSelector: { "disk": "ssd" },
      image: { repository: "registry.example/cairn", tag: "0.1.0" }
    })
    expect(checkManifests(objects, { externalSecret: "my-cairn-secret" })).toEqual([])
    expect(findObject(objects, "Secret")).toBeUndefined()
    const sts = findObject(objects, "StatefulSet", "store")
    expect(at(sts, "spec", "serviceName")).toBe("store-peers")
    expect(at(sts, "spec", "replicas")).toBe(5)
    const pod = at(sts, "spec", "template", "spec")
    const antiAffinity = at(pod, "affinity", "podAntiAffinity")
    expect(at(antiAffinity, "preferredDuringSchedulingIgnoredDuringExecution", 0, "podAffinityTerm", "topologyKey")).toBe("kubernetes.io/hostname")
    expect(at(antiAffinity, "requiredDuringSchedulingIgnoredDuringExecution")).toBeUndefined()
    expect(at(pod, "nodeSelector")).toEqual({ disk: "ssd" })
    expect(at(pod, "containers", 0, "image")).toBe("registry.example/cairn:0.1.0")
    expect(envOf(at(pod, "containers", 1))).toMatchObject({ CAIRN_INITIAL_MEMBERS: "5", CAIRN_PEER_SERVICE: "store-peers", CAIRN_CLUSTER_ENDPOINT: "http://store:9100" })
    expect(at(sts, "spec", "volumeClaimTemplates", 0, "spec")).toMatchObject({ storageClassName: "fast", resources: { requests: { storage: "100Gi" } } })
  })

  it("refuses an antiAffinity that is neither hard nor soft", () => {
    expect(() => helm("cairn", { antiAffinity: "sometimes" })).toThrow(/antiAffinity must be hard or soft/)
  })

  it("ships the same pod scripts as the kustomize base", () => {
    for (const script of ["start.sh", "join.sh"]) {
      expect(readFileSync(join(chart, "files", script), "utf8"), script).toBe(readFileSync(join(base, "scripts", script), "utf8"))
    }
  })
})
