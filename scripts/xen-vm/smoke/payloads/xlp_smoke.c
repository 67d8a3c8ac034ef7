/* Smoke payload: replaces xen_extra_version() and logs from its load/unload hooks. */
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

XLP_LOAD_HOOKS(xlp_smoke_load);
XLP_UNLOAD_HOOKS(xlp_smoke_unload);

XLP_FUNC(xlp_smoke_func) = {
    .name = "xen_extra_version",
    .new_addr = (void *)xlp_smoke_extra_version,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .version = XLP_PAYLOAD_VERSION,
};

XLP_MODINFO("XLP_PAYLOAD=" XLP_PAYLOAD_NAME);
