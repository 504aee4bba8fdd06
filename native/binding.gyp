{
  "targets": [
    {
      "target_name": "portflow_native",
      "sources": [
        "src/addon.cc",
        "src/common/env_threads.cc",
        "src/packet/checksum.cc",
        "src/packet/templates.cc",
        "src/packet/packet_binding.cc",
        "src/parser/parser.cc",
        "src/bench/bench_binding.cc",
        "src/ring/ring_binding.cc",
        "src/ring/test_producer.cc",
        "src/job/index_space.cc",
        "src/job/job_binding.cc",
        "src/io/sender.cc",
        "src/io/engine.cc",
        "src/io/probe_engine_binding.cc",
        "src/io/bpf.cc",
        "src/io/softnet.cc",
        "src/io/capture.cc",
        "src/io/capture_test_binding.cc",
        "src/connect/connect_engine.cc",
        "src/connect/connect_binding.cc",
        "src/io/netlink.cc",
        "src/io/neighbors.cc",
        "src/io/privilege.cc",
        "src/io/link_binding.cc"
      ],
      "include_dirs": ["src"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=c++17", "-O2", "-O0"],
      "cflags": ["-O3", "-isystem", "<!(node -p \"require('path').resolve(require('node-addon-api').include_dir)\")"],
      "cflags_cc": ["-std=c++20", "-O3", "-fexceptions", "-Wall", "-Wextra", "-Wshadow", "-Werror", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
