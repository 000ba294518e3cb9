/**
 * The bucket lifecycle operations: PutBucketLifecycleConfiguration (the
 * whole configuration replaced, validated first: parse.ts),
 * GetBucketLifecycleConfiguration (`NoSuchLifecycleConfiguration` when
 * the bucket has none) and DeleteBucketLifecycle (204, with or without
 * one). The rules live in the bucket's attributes (rules.ts), where the
 * lifecycle worker reads them.
 */
import { Effect } from "effect"
import { withoutNames } from "../attributes.ts"
import { updateBucketAttributes } from "../bucket-operations.ts"
import { accessBucket, emptyResponse, type OperationContext, readSmallBody, xmlResponse } from "../context.ts"
import { S3Error, s3Error } from "../errors.ts"
import type { S3Response } from "../request.ts"
import { MAX_XML_BODY_BYTES } from "../xml-parse.ts"
import { parseLifecycleConfiguration } from "./parse.ts"
import { lifecycleConfigurationXml } from "./render.ts"
import { encodeRules, LIFECYCLE_ATTRIBUTE, lifecycleRulesOf } from "./rules.ts"

export const putBucketLifecycle = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    const rules = parseLifecycleConfiguration(yield* readSmallBody(ctx, MAX_XML_BODY_BYTES))
    if (rules instanceof S3Error) return yield* rules
    yield* updateBucketAttributes(ctx, bucket, (a) => [...withoutNames(a, [LIFECYCLE_ATTRIBUTE]), [LIFECYCLE_ATTRIBUTE, encodeRules(rules)]])
    return emptyResponse(200)
  })

export const getBucketLifecycle = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const info = yield* accessBucket(ctx, bucket)
    const rules = lifecycleRulesOf(info.attributes)
    if (rules === undefined) return yield* s3Error("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", [["BucketName", bucket]])
    return xmlResponse(lifecycleConfigurationXml(rules))
  })

export const deleteBucketLifecycle = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.as(updateBucketAttributes(ctx, bucket, (a) => withoutNames(a, [LIFECYCLE_ATTRIBUTE])), emptyResponse(204))
