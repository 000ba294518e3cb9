/*
 * cairn_io_uring: a minimal io_uring binding for the Disk service.
 *
 * Raw syscalls (io_uring_setup / io_uring_enter / io_uring_register + mmap),
 * no liburing, so a fresh machine needs nothing beyond a C compiler and
 * Node's headers. Only Node-API (node_api.h) is used, never V8 or libuv
 * directly, so the binary is ABI-stable across Node versions.
 *
 * Threads:
 * - The JS thread prepares SQEs (prep*) and submits them in batches (submit).
 *   It alone touches the submission queue.
 * - One completion thread per ring blocks in io_uring_enter(GETEVENTS),
 *   copies CQEs out under a mutex and advances the CQ head. When the pending
 *   batch goes from empty to non-empty it wakes the JS thread once through a
 *   napi_threadsafe_function, which coalesces wake-ups (uv_async
 *   underneath); the JS callback then receives every completion gathered so
 *   far as one Int32Array [id, res, id, res...].
 * - Right after submitting, the JS thread also reaps (under the same mutex)
 *   whatever the kernel completed inline during io_uring_enter, and gets it
 *   back as submit()'s result, saving the thread hop for page-cache I/O.
 * - Shutdown posts a NOP with a reserved user_data; the completion thread
 *   exits when it reaps it.
 *
 * See docs/adr/0007-io-uring-disk.md for why this design.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <fcntl.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "cairn_io_uring: Node-API call failed"); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error, errnum;
  char codebuf[32];
  snprintf(codebuf, sizeof codebuf, "E%d", err);
  napi_create_string_utf8(env, codebuf, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

#ifdef __linux__

#define STOP_USER_DATA UINT64_MAX

typedef struct {
  uint64_t user_data;
  int32_t res;
} completion_t;

typedef struct {
  int fd;
  unsigned sq_entries, cq_entries;
  /* submission queue (JS thread only) */
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  struct io_uring_sqe* sqes;
  unsigned sq_local_tail; /* prepared, not yet published to the kernel */
  unsigned sq_submitted_tail; /* published; io_uring_enter not yet told */
  /* completion queue (completion thread only) */
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_cqe* cqes;
  void *sq_ptr, *cq_ptr;
  size_t sq_size, cq_size, sqes_size;
  /* completions handed from the completion thread to the JS thread */
  pthread_mutex_t mu;
  completion_t* pending;
  size_t pending_len, pending_cap;
  pthread_t thread;
  int thread_started;
  napi_threadsafe_function tsfn;
  /* JS thread bookkeeping */
  unsigned inflight; /* SQEs prepared whose CQE JS has not seen */
  int referenced;
  int closed;
  int owners; /* the JS external and the threadsafe function: the last to finalize frees */
  uint8_t supported[256]; /* opcode -> supported by this kernel */
} ring_t;

static int sys_setup(unsigned entries, struct io_uring_params* p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}
static int sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, 0);
}
static int sys_register(int fd, unsigned op, void* arg, unsigned nr) {
  return (int)syscall(__NR_io_uring_register, fd, op, arg, nr);
}

/* Moves every posted CQE into r->pending; returns whether it saw the stop marker. Caller holds r->mu. */
static int reap_locked(ring_t* r) {
  int stop = 0;
  unsigned head = *r->cq_head;
  unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
  for (; head != tail; head++) {
    struct io_uring_cqe* cqe = &r->cqes[head & *r->cq_mask];
    if (cqe->user_data == STOP_USER_DATA) {
      stop = 1;
      continue;
    }
    if (r->pending_len == r->pending_cap) {
      size_t cap = r->pending_cap * 2;
      completion_t* grown = realloc(r->pending, cap * sizeof *grown);
      if (grown == NULL) abort(); /* losing a completion would hang its caller */
      r->pending = grown;
      r->pending_cap = cap;
    }
    r->pending[r->pending_len].user_data = cqe->user_data;
    r->pending[r->pending_len].res = cqe->res;
    r->pending_len++;
  }
  __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
  return stop;
}

static void* completion_thread(void* arg) {
  ring_t* r = arg;
  int stop = 0;
  while (!stop) {
    int rc = sys_enter(r->fd, 0, 1, IORING_ENTER_GETEVENTS);
    if (rc < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      /* The ring is unusable; nothing sensible to do but stop reaping. */
      break;
    }
    /* The JS thread may have reaped these already (see js_submit): look under the lock. */
    pthread_mutex_lock(&r->mu);
    int was_empty = r->pending_len == 0;
    stop = reap_locked(r);
    int notify = was_empty && r->pending_len > 0;
    pthread_mutex_unlock(&r->mu);
    if (notify) napi_call_threadsafe_function(r->tsfn, NULL, napi_tsfn_nonblocking);
  }
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  return NULL;
}

/*
 * Takes every gathered completion as an Int32Array [id, res, ...] (JS thread).
 * With `reap`, first collects CQEs the kernel posted inline, during the
 * io_uring_enter that submitted them, so they skip the completion thread's
 * wake-up and the threadsafe-function hop.
 */
static napi_value take_completions(napi_env env, ring_t* r, int reap) {
  pthread_mutex_lock(&r->mu);
  if (reap) reap_locked(r); /* the stop marker is only ever submitted by ring_stop */
  size_t n = r->pending_len;
  napi_value ab, arr;
  void* raw;
  if (napi_create_arraybuffer(env, n * 8, &raw, &ab) != napi_ok) abort();
  int32_t* out = raw;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = (int32_t)(uint32_t)r->pending[i].user_data;
    out[2 * i + 1] = r->pending[i].res;
  }
  r->pending_len = 0;
  pthread_mutex_unlock(&r->mu);
  if (r->inflight >= n) r->inflight -= (unsigned)n;
  else r->inflight = 0;
  if (r->inflight == 0 && r->referenced) {
    napi_unref_threadsafe_function(env, r->tsfn);
    r->referenced = 0;
  }
  napi_create_typedarray(env, napi_int32_array, 2 * n, ab, 0, &arr);
  return arr;
}

/* Runs on the JS thread when the completion thread signals: hands the batch to the JS callback. */
static void deliver(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)data;
  ring_t* r = context;
  if (env == NULL || js_cb == NULL) return;
  pthread_mutex_lock(&r->mu);
  size_t n = r->pending_len;
  pthread_mutex_unlock(&r->mu);
  if (n == 0) return; /* already taken by js_submit */
  napi_value arr = take_completions(env, r, 0), undef;
  napi_get_undefined(env, &undef);
  napi_call_function(env, undef, js_cb, 1, &arr, NULL);
}

static void ring_unmap(ring_t* r) {
  if (r->sqes != NULL && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_size);
  if (r->cq_ptr != NULL && r->cq_ptr != MAP_FAILED && r->cq_ptr != r->sq_ptr) munmap(r->cq_ptr, r->cq_size);
  if (r->sq_ptr != NULL && r->sq_ptr != MAP_FAILED) munmap(r->sq_ptr, r->sq_size);
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  r->sqes = NULL;
  r->sq_ptr = r->cq_ptr = NULL;
}

static struct io_uring_sqe* get_sqe(ring_t* r) {
  unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
  if (r->sq_local_tail - head >= r->sq_entries) return NULL;
  struct io_uring_sqe* sqe = &r->sqes[r->sq_local_tail & *r->sq_mask];
  memset(sqe, 0, sizeof *sqe);
  r->sq_array[r->sq_local_tail & *r->sq_mask] = r->sq_local_tail & *r->sq_mask;
  r->sq_local_tail++;
  return sqe;
}

/* Publishes prepared SQEs and tells the kernel; returns how many it took or -errno. */
static int ring_submit(ring_t* r) {
  __atomic_store_n(r->sq_tail, r->sq_local_tail, __ATOMIC_RELEASE);
  unsigned n = r->sq_local_tail - r->sq_submitted_tail;
  if (n == 0) return 0;
  int rc;
  do rc = sys_enter(r->fd, n, 0, 0);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return -errno;
  r->sq_submitted_tail += (unsigned)rc;
  return rc;
}

static void ring_stop(ring_t* r) {
  if (r->closed) return;
  r->closed = 1;
  if (r->thread_started) {
    struct io_uring_sqe* sqe = get_sqe(r);
    while (sqe == NULL) {
      ring_submit(r);
      sqe = get_sqe(r);
    }
    sqe->opcode = IORING_OP_NOP;
    sqe->user_data = STOP_USER_DATA;
    int rc, tries = 0;
    while ((rc = ring_submit(r)) == -EAGAIN || rc == -EBUSY) {
      if (++tries > 1000) break;
      usleep(1000);
    }
    if (rc < 0) {
      /* The completion thread cannot be woken: leave it and the mapping alone. */
      pthread_detach(r->thread);
      r->thread_started = 0;
      return;
    }
    pthread_join(r->thread, NULL);
    r->thread_started = 0;
  }
  ring_unmap(r);
}

static void cleanup_hook(void* arg) { ring_stop(arg); }

static void ring_release(ring_t* r) {
  if (--r->owners > 0) return;
  pthread_mutex_destroy(&r->mu);
  free(r->pending);
  free(r);
}

/* The JS handle was collected. */
static void ring_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  ring_t* r = data;
  ring_stop(r);
  napi_remove_env_cleanup_hook(env, cleanup_hook, r);
  ring_release(r);
}

/* The threadsafe function is gone: no deliver() can run any more. */
static void tsfn_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  ring_release(data);
}

static ring_t* get_ring(napi_env env, napi_value v) {
  void* data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected a ring");
    return NULL;
  }
  ring_t* r = data;
  if (r->closed) {
    napi_throw_error(env, NULL, "ring is closed");
    return NULL;
  }
  return r;
}

/* create(entries, onCompletions) -> ring. Throws an Error with .errno when io_uring is unavailable. */
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t entries;
  CHECK(napi_get_value_uint32(env, argv[0], &entries));

  ring_t* r = calloc(1, sizeof *r);
  if (r == NULL) return throw_errno(env, "calloc", ENOMEM);
  r->fd = -1;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = sys_setup(entries, &p);
  if (fd < 0) {
    int err = errno;
    free(r);
    return throw_errno(env, "io_uring_setup", err);
  }
  r->fd = fd;
  r->sq_entries = p.sq_entries;
  r->cq_entries = p.cq_entries;
  r->sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (r->cq_size > r->sq_size) r->sq_size = r->cq_size;
    r->cq_size = r->sq_size;
  }
  r->sq_ptr = mmap(NULL, r->sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (r->sq_ptr == MAP_FAILED) goto fail;
  r->cq_ptr = single ? r->sq_ptr
                     : mmap(NULL, r->cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  if (r->cq_ptr == MAP_FAILED) goto fail;
  r->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) goto fail;

  char* sq = r->sq_ptr;
  r->sq_head = (unsigned*)(sq + p.sq_off.head);
  r->sq_tail = (unsigned*)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned*)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned*)(sq + p.sq_off.array);
  r->sq_local_tail = r->sq_submitted_tail = *r->sq_tail;
  char* cq = r->cq_ptr;
  r->cq_head = (unsigned*)(cq + p.cq_off.head);
  r->cq_tail = (unsigned*)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned*)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe*)(cq + p.cq_off.cqes);

  /* Which opcodes this kernel supports (IORING_REGISTER_PROBE, 5.6+). */
  size_t probe_size = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
  struct io_uring_probe* probe = calloc(1, probe_size);
  if (probe != NULL && sys_register(fd, IORING_REGISTER_PROBE, probe, 256) == 0) {
    for (unsigned i = 0; i < probe->ops_len && i < 256; i++)
      r->supported[probe->ops[i].op] = (probe->ops[i].flags & IO_URING_OP_SUPPORTED) != 0;
  }
  free(probe);

  pthread_mutex_init(&r->mu, NULL);
  r->pending_cap = 64;
  r->pending = malloc(r->pending_cap * sizeof *r->pending);
  if (r->pending == NULL) goto fail;

  napi_value name;
  CHECK(napi_create_string_utf8(env, "cairn_io_uring", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, r, tsfn_finalize, r, deliver, &r->tsfn));
  r->owners = 1;
  /* Idle rings must not keep the process alive; submit() refs while ops are in flight. */
  CHECK(napi_unref_threadsafe_function(env, r->tsfn));
  int err = pthread_create(&r->thread, NULL, completion_thread, r);
  if (err != 0) {
    ring_unmap(r);
    r->closed = 1;
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort); /* its finalizer frees r */
    return throw_errno(env, "pthread_create", err);
  }
  r->thread_started = 1;
  r->owners = 2;
  napi_add_env_cleanup_hook(env, cleanup_hook, r);

  napi_value external;
  CHECK(napi_create_external(env, r, ring_finalize, NULL, &external));
  return external;

fail: {
  int err = errno != 0 ? errno : ENOMEM;
  ring_unmap(r);
  free(r->pending);
  free(r);
  return throw_errno(env, "io_uring mmap", err);
}
}

/* info(ring) -> { entries, features-independent facts: supported opcodes by name } */
static napi_value js_supports(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t* r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  uint32_t op;
  CHECK(napi_get_value_uint32(env, argv[1], &op));
  napi_value out;
  CHECK(napi_get_boolean(env, op < 256 && r->supported[op], &out));
  return out;
}

static napi_value js_capacity(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t* r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  napi_value out;
  CHECK(napi_create_uint32(env, r->sq_entries, &out));
  return out;
}

static void note_prepared(napi_env env, ring_t* r) {
  r->inflight++;
  if (!r->referenced) {
    napi_ref_threadsafe_function(env, r->tsfn);
    r->referenced = 1;
  }
}

/* Common argument decoding: (ring, id, fd, flags, ...). */
typedef struct {
  ring_t* r;
  uint32_t id;
  int32_t fd;
  uint32_t sqe_flags;
} common_t;

static int decode_common(napi_env env, napi_value* argv, common_t* c) {
  c->r = get_ring(env, argv[0]);
  if (c->r == NULL) return 0;
  if (napi_get_value_uint32(env, argv[1], &c->id) != napi_ok) return 0;
  if (napi_get_value_int32(env, argv[2], &c->fd) != napi_ok) return 0;
  if (napi_get_value_uint32(env, argv[3], &c->sqe_flags) != napi_ok) return 0;
  return 1;
}

static struct io_uring_sqe* prep(napi_env env, common_t* c, uint8_t opcode) {
  struct io_uring_sqe* sqe = get_sqe(c->r);
  if (sqe == NULL) {
    napi_throw_error(env, "EBUSY", "io_uring submission queue is full");
    return NULL;
  }
  sqe->opcode = opcode;
  sqe->fd = c->fd;
  sqe->flags = (uint8_t)c->sqe_flags;
  sqe->user_data = c->id;
  note_prepared(env, c->r);
  return sqe;
}

/* prepRw(ring, id, fd, sqeFlags, write: bool, buffer: Uint8Array, offset: number) */
static napi_value js_prep_rw(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  common_t c;
  if (!decode_common(env, argv, &c)) return NULL;
  bool is_write;
  CHECK(napi_get_value_bool(env, argv[4], &is_write));
  napi_typedarray_type type;
  size_t length;
  void* data;
  CHECK(napi_get_typedarray_info(env, argv[5], &type, &length, &data, NULL, NULL));
  int64_t offset;
  CHECK(napi_get_value_int64(env, argv[6], &offset));
  struct io_uring_sqe* sqe = prep(env, &c, is_write ? IORING_OP_WRITE : IORING_OP_READ);
  if (sqe == NULL) return NULL;
  sqe->addr = (uint64_t)(uintptr_t)data;
  sqe->len = (uint32_t)length;
  sqe->off = (uint64_t)offset;
  return NULL;
}

/* prepFsync(ring, id, fd, sqeFlags, datasync: bool) */
static napi_value js_prep_fsync(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  common_t c;
  if (!decode_common(env, argv, &c)) return NULL;
  bool datasync;
  CHECK(napi_get_value_bool(env, argv[4], &datasync));
  struct io_uring_sqe* sqe = prep(env, &c, IORING_OP_FSYNC);
  if (sqe == NULL) return NULL;
  sqe->fsync_flags = datasync ? IORING_FSYNC_DATASYNC : 0;
  return NULL;
}

/* prepOpen(ring, id, dirfd, sqeFlags, path: Uint8Array (NUL-terminated), openFlags, mode) */
static napi_value js_prep_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  common_t c;
  if (!decode_common(env, argv, &c)) return NULL;
  napi_typedarray_type type;
  size_t length;
  void* data;
  CHECK(napi_get_typedarray_info(env, argv[4], &type, &length, &data, NULL, NULL));
  if (length == 0 || ((char*)data)[length - 1] != 0) {
    napi_throw_type_error(env, NULL, "path must be NUL-terminated");
    return NULL;
  }
  int32_t flags, mode;
  CHECK(napi_get_value_int32(env, argv[5], &flags));
  CHECK(napi_get_value_int32(env, argv[6], &mode));
  struct io_uring_sqe* sqe = prep(env, &c, IORING_OP_OPENAT);
  if (sqe == NULL) return NULL;
  sqe->addr = (uint64_t)(uintptr_t)data;
  sqe->open_flags = (uint32_t)flags | O_CLOEXEC;
  sqe->len = (uint32_t)mode;
  return NULL;
}

/* prepClose(ring, id, fd, sqeFlags) */
static napi_value js_prep_close(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  common_t c;
  if (!decode_common(env, argv, &c)) return NULL;
  prep(env, &c, IORING_OP_CLOSE);
  return NULL;
}

/*
 * submit(ring) -> Int32Array [id, res, ...] of completions already available
 * (often the whole batch for page-cache writes); throws with .errno on failure.
 * Every prepared SQE is taken: JS never prepares more than the ring holds.
 */
static napi_value js_submit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t* r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  int rc = ring_submit(r);
  if (rc < 0) return throw_errno(env, "io_uring_enter", -rc);
  return take_completions(env, r, 1);
}

/* fileSize(fd) -> number (fstat; metadata only, does not wait for the device). */
static napi_value js_file_size(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  struct stat st;
  if (fstat(fd, &st) != 0) return throw_errno(env, "fstat", errno);
  napi_value out;
  CHECK(napi_create_int64(env, (int64_t)st.st_size, &out));
  return out;
}

static napi_value js_close_ring(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* data = NULL;
  CHECK(napi_get_value_external(env, argv[0], &data));
  ring_stop(data);
  return NULL;
}

#define EXPORT_FN(name, fn)                                                   \
  do {                                                                        \
    napi_value f;                                                             \
    CHECK(napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f)); \
    CHECK(napi_set_named_property(env, exports, name, f));                   \
  } while (0)

static napi_value init(napi_env env, napi_value exports) {
  EXPORT_FN("create", js_create);
  EXPORT_FN("supports", js_supports);
  EXPORT_FN("capacity", js_capacity);
  EXPORT_FN("prepRw", js_prep_rw);
  EXPORT_FN("prepFsync", js_prep_fsync);
  EXPORT_FN("prepOpen", js_prep_open);
  EXPORT_FN("prepClose", js_prep_close);
  EXPORT_FN("submit", js_submit);
  EXPORT_FN("fileSize", js_file_size);
  EXPORT_FN("closeRing", js_close_ring);
  napi_value v;
  CHECK(napi_create_int32(env, IOSQE_IO_LINK, &v));
  CHECK(napi_set_named_property(env, exports, "IOSQE_IO_LINK", v));
  CHECK(napi_create_int32(env, IORING_OP_READ, &v));
  CHECK(napi_set_named_property(env, exports, "IORING_OP_READ", v));
  CHECK(napi_create_int32(env, IORING_OP_WRITE, &v));
  CHECK(napi_set_named_property(env, exports, "IORING_OP_WRITE", v));
  CHECK(napi_create_int32(env, IORING_OP_FSYNC, &v));
  CHECK(napi_set_named_property(env, exports, "IORING_OP_FSYNC", v));
  CHECK(napi_create_int32(env, IORING_OP_OPENAT, &v));
  CHECK(napi_set_named_property(env, exports, "IORING_OP_OPENAT", v));
  CHECK(napi_create_int32(env, IORING_OP_CLOSE, &v));
  CHECK(napi_set_named_property(env, exports, "IORING_OP_CLOSE", v));
  return exports;
}

#else /* !__linux__ */

static napi_value js_create(napi_env env, napi_callback_info info) {
  (void)info;
  return throw_errno(env, "io_uring_setup", ENOSYS);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  CHECK(napi_create_function(env, "create", NAPI_AUTO_LENGTH, js_create, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "create", f));
  return exports;
}

#endif

NAPI_MODULE_INIT() { return init(env, exports); }
