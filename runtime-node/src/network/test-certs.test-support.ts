/**
 * Certificates for the TLS tests, made with the `openssl` command the way
 * docs/server.md tells an operator to: a CA, and per name a P-256 key and a
 * certificate it signed for 127.0.0.1/localhost. `rogue` is a second,
 * untrusted CA with a node certificate of its own, for the refusal tests.
 */
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"

export interface CertFiles {
  readonly cert: string
  readonly key: string
}

export interface TestPki {
  readonly ca: string
  readonly nodes: Readonly<Record<string, CertFiles>>
}

const openssl = (args: ReadonlyArray<string>) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] })

const makeCa = (dir: string, name: string): { readonly cert: string; readonly key: string } => {
  const key = join(dir, `${name}.key`)
  const cert = join(dir, `${name}.pem`)
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`])
  return { cert, key }
}

const makeLeaf = (dir: string, ca: { readonly cert: string; readonly key: string }, name: string): CertFiles => {
  const key = join(dir, `${name}.key`)
  const csr = join(dir, `${name}.csr`)
  const cert = join(dir, `${name}.pem`)
  const ext = join(dir, `${name}.ext`)
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${name}`])
  openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
  return { cert, key }
}

/** A CA in `dir` and a certificate for each name; plus `rogue`, signed by another CA. */
export const makeTestPki = (dir: string, names: ReadonlyArray<string>): TestPki & { readonly rogue: CertFiles } => {
  const ca = makeCa(dir, "cluster-ca")
  const other = makeCa(dir, "rogue-ca")
  const nodes: Record<string, CertFiles> = {}
  for (const name of names) nodes[name] = makeLeaf(dir, ca, name)
  return { ca: ca.cert, nodes, rogue: makeLeaf(dir, other, "rogue") }
}
