/*
 * A first payload: replaces xen_extra_version() so `xl info` (or `xlp info`) shows it, and counts
 * its applications in load/unload hooks. It keeps a counter in .bss, so Xen will not apply it
 * again after a revert: unload it and load it afresh.
 */
static int applied;

static const char *hello_extra_version(void)
{
    return "-hello";
}

static void hello_loaded(void)
{
    applied++;
    printk("hello: applied %d time(s)\n", applied);
}

static void hello_unloaded(void)
{
    printk("hello: reverted\n");
}

XLP_LOAD_HOOKS(hello_loaded);
XLP_UNLOAD_HOOKS(hello_unloaded);
XLP_MODINFO("PURPOSE=demo\0AUTHOR=xen-livepatch");

XLP_FUNC(hello_func) = {
    .version = XLP_PAYLOAD_VERSION,
    .name = "xen_extra_version",
    .new_addr = (void *)hello_extra_version,
    .old_addr = 0,
    .new_size = 16,
    .old_size = 16,
};
