/* xen_replace_world: old_addr 0, so the hypervisor resolves the name; depends on the hypervisor. */
#include "parity.h"

static const char *xen_replace_world(void)
{
    return "Hello Again World!";
}

XLP_EXTRA_VERSION_PATCH(livepatch_xen_replace_world, xen_replace_world);
