/* xen_hello_world: one function, load hooks apply_hook + hi_func, unload hooks revert_hook +
 * hi_func + check_fnc, a .bss counter (so not safe to re-apply) and .modinfo "LIVEPATCH_RULEZ". */
#include "parity.h"

static unsigned int cnt;

static const char *xen_hello_world(void)
{
    return "Hello World";
}

static void apply_hook(void)
{
    printk(KERN_DEBUG "Hook executing.\n");
}

static void revert_hook(void)
{
    printk(KERN_DEBUG "Hook unloaded.\n");
}

static void hi_func(void)
{
    printk(KERN_DEBUG "%s: Hi! (called %u times)\n", __func__, ++cnt);
}

static void check_fnc(void)
{
    printk(KERN_DEBUG "%s: Hi func called %u times\n", __func__, cnt);
    XLP_BUG_ON(cnt == 0 || cnt > 2);
}

/* Imbalance, as in Xen's: two load hooks and three unload hooks. */
XLP_LOAD_HOOKS(apply_hook, hi_func);
XLP_UNLOAD_HOOKS(revert_hook, hi_func, check_fnc);

XLP_MODINFO("LIVEPATCH_RULEZ");

XLP_EXTRA_VERSION_PATCH(livepatch_xen_hello_world, xen_hello_world);
