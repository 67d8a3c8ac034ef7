/* Smoke payload: replaces xen_extra_version() and logs from its load/unload hooks. */
#include "xlp-payload.h"

static const char *xlp_smoke_extra_version(void)
{
    return XLP_EXTRA;
}

static void xlp_smoke_load(void)
{
    printk("xlp-smoke: load hook ran\n");
}

static void xlp_smoke_unload(void)
{
    printk("xlp-smoke: unload hook ran\n");
}

XLP_LOAD_HOOK(xlp_smoke_load);
XLP_UNLOAD_HOOK(xlp_smoke_unload);

static const struct xlp_func xlp_smoke_func XLP_USED(".livepatch.funcs") = {
    .name = "xen_extra_version",
    .new_addr = xlp_smoke_extra_version,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .version = 2,
};

static const char xlp_smoke_modinfo[] XLP_USED(".modinfo") = "XLP_PAYLOAD=" XLP_NAME;
