/**
 * `cairn dev --nodes N`: a local N-node cluster in one command. Children are
 * `cairn server` processes with data under ./data/dev/nX, S3 ports 9000+i,
 * KV API ports 9100+i, peer ports 9200+i, web consoles on 9300+i, Kafka on 9092+i; one generated cluster
 * secret and admin credentials shared by all, kept in ./data/dev. Every log
 * line is forwarded with a node prefix; Ctrl-C stops them all.
 */
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import type { ChildProcess } from "node:child_process"
import { resolve } from "node:path"
import { clusterEnv, exited, planCluster, serverArgs, spawnCairn } from "../server/local-cluster.ts"
import { storedClusterSecret, storedCredentials } from "../server/secrets.ts"
import { ServerConfigError } from "../server/config.ts"

export const devCommand = Command.make(
  "dev",
  {
    nodes: Flag.Int("nodes").pipe(Flag.withDefault(3), Flag.withDescription("how many nodes (1-9)")),
    dataRoot: Flag.String("data-root").pipe(Flag.withDefault("./data/dev"), Flag.withDescription("where the nodes' data directories go")),
    apiBase: Flag.Int("api-base").pipe(Flag.withDefault(9100), Flag.withDescription("KV HTTP API port of n1 (n2 gets +1, ...)")),
    peerBase: Flag.Int("peer-base").pipe(Flag.withDefault(9200), Flag.withDescription("peer port of n1")),
    s3Base: Flag.Int("s3-base").pipe(Flag.withDefault(9000), Flag.withDescription("S3 port of n1 (n2 gets +1, ...)")),
    // Not the server's default 9001: that is n2's S3 port here.
    consoleBase: Flag.Int("console-base").pipe(Flag.withDefault(9300), Flag.withDescription("web console port of n1 (n2 gets +1, ...)")),
    kafkaBase: Flag.Int("kafka-base").pipe(Flag.withDefault(9092), Flag.withDescription("Kafka port of n1 (n2 gets +1, ...)"))
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.nodes < 1 || flags.nodes > 9) return yield* new ServerConfigError({ message: `--nodes must be from 1 to 9, got ${flags.nodes}` })
      for (const [name, port] of [["--api-base", flags.apiBase], ["--peer-base", flags.peerBase], ["--s3-base", flags.s3Base], ["--console-base", flags.consoleBase], ["--kafka-base", flags.kafkaBase]] as const) {
        if (port < 1 || port + flags.nodes > 65535) return yield* new ServerConfigError({ message: `${name} must leave room for ${flags.nodes} ports below 65536, got ${port}` })
      }
      const dataRoot = resolve(flags.dataRoot)
      const envKey = process.env.CAIRN_ACCESS_KEY
      const envSecret = process.env.CAIRN_SECRET_KEY
      const credentials = envKey !== undefined && envSecret !== undefined ? { accessKey: envKey, secretKey: envSecret } : storedCredentials(dataRoot)
      const cluster = planCluster({
        nodes: flags.nodes,
        dataRoot,
        apiBase: flags.apiBase,
        peerBase: flags.peerBase,
        s3Base: flags.s3Base,
        consoleBase: flags.consoleBase,
        kafka: flags.kafkaBase,
        secret: process.env.CAIRN_CLUSTER_SECRET ?? storedClusterSecret(dataRoot).secret,
        credentials
      })
      const children: Array<ChildProcess> = []
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
          await Promise.all(children.map(exited))
          process.stdout.write("cairn dev: all nodes stopped\n")
        })
      )
      const width = Math.max(...cluster.nodes.map((n) => n.id.length))
      for (const node of cluster.nodes) {
        const prefix = `[${node.id.padEnd(width)}] `
        const child = spawnCairn(serverArgs(cluster, node), clusterEnv(cluster), (line, stream) => {
          ;(stream === "stdout" ? process.stdout : process.stderr).write(`${prefix}${line}\n`)
        })
        child.on("exit", (code, signal) => process.stderr.write(`${prefix}exited (${signal ?? `code ${code}`})\n`))
        children.push(child)
      }
      yield* Console.log(
        [
          `cairn dev: ${flags.nodes} node(s), data under ${dataRoot}`,
          ...cluster.nodes.map((n) => `  ${n.id}  console http://127.0.0.1:${n.consolePort}  s3 http://127.0.0.1:${n.s3Port}  api http://127.0.0.1:${n.apiPort}  metrics http://127.0.0.1:${n.apiPort}/metrics  kafka 127.0.0.1:${n.kafkaPort}  peer 127.0.0.1:${n.peerPort}  data ${n.dataDir}`),
          `  admin credentials: ${envKey !== undefined ? "from CAIRN_ACCESS_KEY / CAIRN_SECRET_KEY" : `${dataRoot}/admin-credentials.json`}`,
          `  S3: any client with path-style addressing, region us-east-1 and the admin keys, e.g. aws --endpoint-url http://127.0.0.1:${cluster.nodes[0]!.s3Port} s3 ls`,
          `  KV: curl -u "$CAIRN_ACCESS_KEY:$CAIRN_SECRET_KEY" -X PUT --data-binary hello http://127.0.0.1:${cluster.nodes[0]!.apiPort}/v1/kv/a && curl -u "$CAIRN_ACCESS_KEY:$CAIRN_SECRET_KEY" http://127.0.0.1:${cluster.nodes.at(-1)!.apiPort}/v1/kv/a`,
          `      (with CAIRN_ACCESS_KEY=${credentials.accessKey} and CAIRN_SECRET_KEY from ${envKey !== undefined ? "your environment" : `${dataRoot}/admin-credentials.json`})`,
          `  Kafka: kcat -L -b ${cluster.nodes.map((n) => `127.0.0.1:${n.kafkaPort}`).join(",")} (docs/kafka.md)`,
          `  members: npx cairn cluster list --endpoint 127.0.0.1:${cluster.nodes[0]!.apiPort}`,
          "  Ctrl-C stops every node."
        ].join("\n")
      )
      yield* Effect.promise(() => Promise.all(children.map(exited)))
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("start a local N-node cluster of cairn servers on loopback"))
