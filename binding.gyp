{
  "targets": [{
    "target_name": "xen_livepatch",
    "sources": ["native/addon.cc"],
    "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
    "defines": ["NAPI_VERSION=8"],
    "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra"]
  }]
}
