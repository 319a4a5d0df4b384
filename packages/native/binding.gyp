{
  "targets": [
    {
      "target_name": "fastpath_native",
      "sources": [
        "src/addon.cc",
        "src/shm-channel.cc",
        "src/shm-channel-spin.cc",
        "src/shm-channel-step.cc",
        "src/cpu-contention.cc",
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
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lrt"] }],
        ["OS=='win'", {
          "sources": [
            "src/win/doorbell-win.cc",
            "src/win/loopback-fast-path.cc",
            "src/win/rio-engine.cc",
            "src/win/rio-fake.cc",
            "src/win/rio-loop.cc",
            "src/win/rio-queue.cc",
            "src/win/shm-segment-win.cc",
            "src/win/tcp-fastpath.cc",
            "src/win/tcp-fastpath-listener.cc",
            "src/win/tcp-fastpath-socket.cc",
            "src/win/win-security.cc"
          ],
          "defines": ["_WIN32_WINNT=0x0A00", "WIN32_LEAN_AND_MEAN", "NOMINMAX"],
          "libraries": ["ws2_32.lib", "bcrypt.lib", "advapi32.lib"],
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17"] } }
        }]
      ]
    }
  ]
}
