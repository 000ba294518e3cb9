/**
 * Checks on rendered Kubernetes manifests that an API server would make
 * (or that would leave a cluster that cannot start), done offline: every
 * object has apiVersion, kind and a valid metadata.name; selectors match
 * the pod template's labels; the StatefulSet's serviceName is a headless
 * Service that publishes unready pods; ports are named and every named
 * target exists; probes hit /ready and /health on the API port; volumes,
 * claim templates, the ConfigMap and the Secret a pod refers to exist with
 * the keys it reads. Returns the problems found, as sentences.
 */
import { Data } from "effect"
import { parseAllDocuments } from "yaml"

export class ManifestError extends Data.TaggedError("ManifestError")<{ readonly message: string }> {}

export type K8sObject = Record<string, unknown> & { readonly kind?: unknown; readonly metadata?: { readonly name?: unknown } }

/** The documents of a multi-document YAML stream, read as Kubernetes reads them (YAML 1.1: 0555 is octal). */
export const parseManifests = (text: string): Array<K8sObject> =>
  parseAllDocuments(text, { version: "1.1" }).map((d) => {
    if (d.errors.length > 0) throw new ManifestError({ message: `not valid YAML: ${d.errors[0]!.message}` })
    return d.toJS() as K8sObject | null
  }).filter((o): o is K8sObject => o !== null)

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? v as Obj : {})
const list = (v: unknown): Array<Obj> => (Array.isArray(v) ? v.map(obj) : [])
const at = (v: unknown, ...path: ReadonlyArray<string>): unknown => path.reduce((o, k) => obj(o)[k], v)

const DNS_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const subsetOf = (selector: unknown, labels: unknown): boolean => {
  const s = obj(selector)
  return Object.keys(s).length > 0 && Object.entries(s).every(([k, v]) => obj(labels)[k] === v)
}

export const findObject = (objects: ReadonlyArray<K8sObject>, kind: string, name?: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name))

const checkCommon = (o: K8sObject, problems: Array<string>): void => {
  const id = `${String(o.kind)}/${String(o.metadata?.name)}`
  if (typeof o.apiVersion !== "string" || o.apiVersion === "") problems.push(`${id}: no apiVersion`)
  if (typeof o.kind !== "string" || o.kind === "") problems.push(`${id}: no kind`)
  const name = o.metadata?.name
  if (typeof name !== "string" || !DNS_1123.test(name) || name.length > 63) problems.push(`${id}: metadata.name must be a DNS-1123 label`)
}

const checkContainer = (c: Obj, volumeNames: ReadonlySet<string>, problems: Array<string>): void => {
  const id = `container ${String(c.name)}`
  if (typeof c.name !== "string" || typeof c.image !== "string" || c.image === "") problems.push(`${id}: needs a name and an image`)
  for (const p of list(c.ports)) {
    if (typeof p.containerPort !== "number") problems.push(`${id}: a port without containerPort`)
    if (typeof p.name !== "string" || p.name.length > 15 || !DNS_1123.test(p.name)) problems.push(`${id}: port names must be DNS-1123 labels of at most 15 characters`)
  }
  for (const m of list(c.volumeMounts)) if (!volumeNames.has(String(m.name))) problems.push(`${id}: mounts volume ${String(m.name)}, which neither volumes nor volumeClaimTemplates define`)
}

const checkProbes = (c: Obj, problems: Array<string>): void => {
  const ports = new Set(list(c.ports).map((p) => p.name))
  const probe = (kind: string, path: string) => {
    const get = obj(at(c, kind, "httpGet"))
    if (get.path !== path) problems.push(`container ${String(c.name)}: ${kind} must be an httpGet of ${path}, got ${JSON.stringify(get.path)}`)
    if (!ports.has(get.port) || get.port !== "api") problems.push(`container ${String(c.name)}: ${kind} must use the api port`)
  }
  probe("readinessProbe", "/ready")
  probe("livenessProbe", "/health")
}

/** Secret and ConfigMap references of the pod: they must exist in the render (or be the named external Secret) with the keys used. */
const checkReferences = (objects: ReadonlyArray<K8sObject>, pod: Obj, externalSecret: string | undefined, problems: Array<string>): void => {
  for (const c of list(pod.containers)) {
    for (const e of list(c.env)) {
      const ref = obj(at(e, "valueFrom", "secretKeyRef"))
      if (ref.name === undefined) continue
      if (ref.name === externalSecret) continue
      const secret = findObject(objects, "Secret", String(ref.name))
      const keys = { ...obj(secret?.["data"]), ...obj(secret?.["stringData"]) }
      if (secret === undefined || !(String(ref.key) in keys)) problems.push(`env ${String(e.name)}: Secret ${String(ref.name)} with key ${String(ref.key)} is not rendered`)
    }
  }
  for (const v of list(pod.volumes)) {
    const name = at(v, "configMap", "name")
    if (name === undefined) continue
    const cm = findObject(objects, "ConfigMap", String(name))
    if (cm === undefined) problems.push(`volume ${String(v.name)}: ConfigMap ${String(name)} is not rendered`)
    for (const c of list(pod.containers)) {
      const script = /^\/etc\/cairn-pod\/(.+)$/.exec(String(list(c.command).length === 0 ? "" : (c.command as Array<string>).at(-1)))?.[1]
      if (script !== undefined && typeof obj(cm?.["data"])[script] !== "string") problems.push(`container ${String(c.name)}: runs ${script}, which ConfigMap ${String(name)} lacks`)
    }
  }
}

const checkStatefulSet = (objects: ReadonlyArray<K8sObject>, sts: K8sObject, externalSecret: string | undefined, problems: Array<string>): void => {
  const spec = obj(sts["spec"])
  const podLabels = at(spec, "template", "metadata", "labels")
  if (!subsetOf(at(spec, "selector", "matchLabels"), podLabels)) problems.push("StatefulSet: spec.selector.matchLabels must match the pod template's labels")
  const headless = findObject(objects, "Service", String(spec.serviceName))
  if (headless === undefined) problems.push(`StatefulSet: serviceName ${String(spec.serviceName)} names no rendered Service`)
  else if (at(headless, "spec", "clusterIP") !== "None" || at(headless, "spec", "publishNotReadyAddresses") !== true) problems.push("StatefulSet: its serviceName must be a headless Service (clusterIP: None) that publishes unready pods")
  if (spec.podManagementPolicy !== "Parallel") problems.push("StatefulSet: podManagementPolicy must be Parallel (no pod is ready before a majority runs)")
  const claims = list(spec.volumeClaimTemplates)
  if (claims.length === 0) problems.push("StatefulSet: no volumeClaimTemplates")
  for (const claim of claims) {
    const modes = at(claim, "spec", "accessModes")
    if (!Array.isArray(modes) || modes.length === 0) problems.push("volumeClaimTemplate: no accessModes")
    if (typeof at(claim, "spec", "resources", "requests", "storage") !== "string") problems.push("volumeClaimTemplate: no storage request")
  }
  const pod = obj(at(spec, "template", "spec"))
  const volumeNames = new Set([...list(pod.volumes), ...claims.map((c) => obj(c.metadata))].map((v) => String(v.name)))
  const containers = list(pod.containers)
  if (containers.length === 0) problems.push("StatefulSet: no containers")
  for (const c of containers) checkContainer(c, volumeNames, problems)
  const cairn = containers.find((c) => c.name === "cairn")
  if (cairn === undefined) problems.push("StatefulSet: no container named cairn")
  else checkProbes(cairn, problems)
  checkReferences(objects, pod, externalSecret, problems)
}

const checkService = (svc: K8sObject, podLabels: unknown, containerPorts: ReadonlySet<unknown>, problems: Array<string>): void => {
  const id = `Service/${String(svc.metadata?.name)}`
  if (!subsetOf(at(svc, "spec", "selector"), podLabels)) problems.push(`${id}: its selector matches no pod of the StatefulSet`)
  const ports = list(at(svc, "spec", "ports"))
  if (ports.length === 0) problems.push(`${id}: no ports`)
  for (const p of ports) {
    if (typeof p.port !== "number" || typeof p.name !== "string") problems.push(`${id}: every port needs a number and a name`)
    if (!containerPorts.has(p.targetPort)) problems.push(`${id}: targetPort ${String(p.targetPort)} is no container port's name`)
  }
}

/** Every problem found in one rendering of the manifests; [] when they pass. */
export const checkManifests = (objects: ReadonlyArray<K8sObject>, options: { readonly externalSecret?: string } = {}): Array<string> => {
  const problems: Array<string> = []
  for (const o of objects) checkCommon(o, problems)
  const sts = findObject(objects, "StatefulSet")
  if (sts === undefined) return [...problems, "no StatefulSet"]
  checkStatefulSet(objects, sts, options.externalSecret, problems)
  const podLabels = at(sts, "spec", "template", "metadata", "labels")
  const containerPorts = new Set(list(at(sts, "spec", "template", "spec", "containers")).flatMap((c) => list(c.ports).map((p) => p.name)))
  const services = objects.filter((o) => o.kind === "Service")
  if (services.length < 2) problems.push("expected a headless Service for the peers and one for clients")
  for (const svc of services) checkService(svc, podLabels, containerPorts, problems)
  const pdb = findObject(objects, "PodDisruptionBudget")
  if (pdb === undefined) problems.push("no PodDisruptionBudget")
  else {
    if (pdb.apiVersion !== "policy/v1") problems.push("PodDisruptionBudget: apiVersion must be policy/v1")
    if (!subsetOf(at(pdb, "spec", "selector", "matchLabels"), podLabels)) problems.push("PodDisruptionBudget: its selector matches no pod of the StatefulSet")
    if (at(pdb, "spec", "maxUnavailable") === undefined && at(pdb, "spec", "minAvailable") === undefined) problems.push("PodDisruptionBudget: needs maxUnavailable or minAvailable")
  }
  return problems
}
