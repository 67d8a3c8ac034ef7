/* xen_bye_world: one function; built with .livepatch.depends = xen_hello_world's build-id. */
#include "parity.h"

static const char *xen_bye_world(void)
{
    return "Bye World!";
}

XLP_EXTRA_VERSION_PATCH(livepatch_xen_bye_world, xen_bye_world);
