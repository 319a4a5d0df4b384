{
  "targets": [
    {
      "target_name": "fastpath_native",
      "sources": [
        "src/addon.cc",
        "src/shm-channel.cc",
        "src/shm-ring.cc",
        "src/shm-segment.cc",
        "src/doorbell.cc",
        "src/channel-registry.cc",
        "src/peer-credentials.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lrt"]
    }
  ]
}
