/* Action hooks next to load/unload hooks, and no pre/post hook: REPLACE may revert it. */
#include "../../parity/payloads/parity.h"

static const char *xlp_al_version(void)
{
    return "action+load";
}

static int al_apply(const struct payload *p) { (void)p; return 0; }
static int al_revert(const struct payload *p) { (void)p; return 0; }
static void al_load(void) { printk(KERN_DEBUG "al_load\n"); }
static void al_unload(void) { printk(KERN_DEBUG "al_unload\n"); }

XLP_APPLY_HOOK(al_apply);
XLP_REVERT_HOOK(al_revert);
XLP_LOAD_HOOKS(al_load);
XLP_UNLOAD_HOOKS(al_unload);

XLP_EXTRA_VERSION_PATCH(xlp_al_func, xlp_al_version);
