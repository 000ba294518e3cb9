/**
 * What to do about an error: the server's message, plus the step a person
 * can take, for the codes the console meets. Unknown codes keep the
 * server's message as it is.
 */
const steps: Record<string, string> = {
  InvalidBucketName: "Bucket names are 3–63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, and not shaped like an IP address.",
  BucketAlreadyExists: "Choose another name.",
  BucketAlreadyOwnedByYou: "You already have this bucket; open it from the list.",
  BucketNotEmpty: "Delete its objects (and, with versioning, their old versions) first.",
  NoSuchBucket: "It may have been deleted: reload the bucket list.",
  NoSuchKey: "It may have been deleted or renamed: reload the listing.",
  NoSuchVersion: "That version no longer exists: reload the versions.",
  InvalidTag: "Tags: at most 10 on an object (50 on a bucket), keys of 1–128 characters, values of up to 256, each key once.",
  AccessDenied: "Your access key is not allowed to do this: ask the cluster's admin for access.",
  forbidden: "Your access key is not allowed to do this: ask the cluster's admin for access.",
  SlowDown: "The node is busy: retry in a few seconds.",
  ServiceUnavailable: "The cluster cannot answer now (no leader or too few nodes): check the cluster page, then retry.",
  unavailable: "The cluster cannot answer now (no leader or too few nodes): check the cluster page, then retry.",
  EntityTooLarge: "The file is larger than one request may carry: it is uploaded in parts automatically above 16 MiB; retry.",
  csrf: "Reload the page and try again.",
  "unknown-topic": "It may have been deleted: reload the topics.",
  "unknown-group": "It may have been deleted, or never committed an offset: reload the groups.",
  "offset-out-of-range": "Retention may have removed those records: reload the page.",
  "session-expired": "Sign in again.",
  unauthorized: "Check the access key and the secret, then sign in again.",
  upstream: "This node's storage listeners are not answering: check the node's log.",
  "http-404": "It may have been deleted: reload the listing.",
  "http-413": "The request was too large for the node.",
  "http-502": "This node's storage listeners are not answering: check the node's log.",
  "http-504": "The cluster did not answer in time; the change may or may not have been made: reload to see."
}

export const adviceFor = (code: string, message: string, status: number): string => {
  const step = steps[code] ?? (status >= 500 ? "Retry in a moment; if it persists, check the cluster page and the node's log." : undefined)
  const said = message.trim().replace(/\.?$/, ".")
  return step === undefined ? said : `${said} ${step}`
}
