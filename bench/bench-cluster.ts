/**
 * What every benchmark that starts real `cairn server` processes or talks
 * S3 to them shares: the admin credentials the servers are started with,
 * the plan of a loopback cluster on free ports, and an S3 client that adds
 * nothing of its own to a measurement (no retries, no checksums beyond
 * what the server requires).
 */
import { join } from "node:path"
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3"
import { planCluster, type LocalCluster } from "@cairn/runtime-node/server/local-cluster"

export const BENCH_CREDENTIALS = { accessKey: "bench-admin", secretKey: "bench-admin-secret-key" }

/** A cluster of `size` nodes under `runDir/cluster-<size>`, on the given free loopback ports (3 per node, and a Kafka port each when given). */
export const planBenchCluster = (runDir: string, size: number, ports: ReadonlyArray<number>, bench: string, kafkaPorts?: ReadonlyArray<number>): LocalCluster =>
  planCluster({
    ...(kafkaPorts === undefined ? {} : { kafka: kafkaPorts }),
    nodes: size,
    dataRoot: join(runDir, `cluster-${size}`),
    apiBase: 0,
    peerBase: 0,
    s3Base: 0,
    secret: `${bench}-bench-secret-${Math.random().toString(36).slice(2)}-0123456789`,
    credentials: BENCH_CREDENTIALS,
    ports
  })

/** An S3 client of the bench admin for the node at `port`: one attempt per request, checksums only when required. */
export const benchS3Client = (port: number, requestHandler: NonNullable<S3ClientConfig["requestHandler"]>, extra: Partial<S3ClientConfig> = {}): S3Client =>
  new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: BENCH_CREDENTIALS.accessKey, secretAccessKey: BENCH_CREDENTIALS.secretKey },
    maxAttempts: 1,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler,
    ...extra
  })
