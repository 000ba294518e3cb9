{
  "targets": [
    {
      "target_name": "cairn_io_uring",
      "sources": ["native/io_uring.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [["OS=='linux'", { "libraries": ["-lpthread"] }]]
    }
  ]
}
