{
  "targets": [{
    "target_name": "xen_livepatch",
    "sources": [
      "native/addon.cc",
      "native/args.cc",
      "native/errors.cc",
      "native/handle.cc",
      "native/library_identity.cc",
      "native/list_walk.cc",
      "native/logger.cc",
      "native/open.cc",
      "native/workers.cc",
      "native/xenctrl_lib.cc"
    ],
    "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"],
    "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "_FORTIFY_SOURCE=2"],
    "cflags_cc": [
      "-std=c++17",
      "-fvisibility=hidden",
      "-fvisibility-inlines-hidden",
      "-fstack-protector-strong",
      "-Wall",
      "-Wextra"
    ],
    "ldflags": [
      "-Wl,--exclude-libs,ALL",
      "-Wl,--version-script=<(module_root_dir)/native/exports.map",
      "-Wl,-z,relro",
      "-Wl,-z,now",
      "-Wl,-z,noexecstack"
    ],
    "libraries": ["-ldl"]
  }]
}
