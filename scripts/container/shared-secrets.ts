/**
 * `node scripts/container/shared-secrets.ts FILE`: run by each node of the
 * compose cluster before `cairn server` (deploy/compose/compose.yaml). The
 * first to run generates the cluster secret and admin credentials into FILE
 * (a `--config` file) and prints the credentials, once; the others and
 * every later start reuse them (runtime-node/src/server/shared-secrets.ts).
 * Exit 0 when FILE holds the secrets, 1 when it cannot, 2 on bad usage.
 */
import { sharedSecrets, SharedSecretsError } from "@cairn/runtime-node/server/shared-secrets"

const path = process.argv[2]
if (path === undefined || process.argv.length > 3) {
  process.stderr.write("usage: node scripts/container/shared-secrets.ts FILE\n")
  process.exit(2)
}
const secrets = sharedSecrets(path)
if (secrets instanceof SharedSecretsError) {
  process.stderr.write(`shared-secrets: ${secrets.message}\n`)
  process.exit(1)
}
process.stdout.write(
  secrets.generated
    ? `\nGenerated the cluster secret and admin credentials (shown once; stored in ${path}):\n` +
      `  CAIRN_ACCESS_KEY=${secrets.accessKey}\n  CAIRN_SECRET_KEY=${secrets.secretKey}\n\n`
    : `shared-secrets: using the cluster secret and admin credentials in ${path}\n`
)
