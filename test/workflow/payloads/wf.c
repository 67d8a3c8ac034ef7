/*
 * The workflow tests' payloads: one patch of xen_extra_version (looked up by name) plus, chosen
 * with -D, vetoing hooks (WF_VETOING), load/unload hooks (WF_LOAD_HOOKS), writable data that makes
 * the payload unsafe to re-apply after a revert (WF_DATA), or action hooks (WF_ACTION_HOOKS).
 * Every symbol is suffixed with the payload's name (XLP_NAME), so any of them load together.
 */
static const char *XLP_NAME(wf_extra_version)(void)
{
    return "-wf";
}

#ifdef WF_DATA
static int XLP_NAME(wf_applied);
static void XLP_NAME(wf_count)(void)
{
    XLP_NAME(wf_applied)++;
}
XLP_LOAD_HOOKS(XLP_NAME(wf_count));
#endif

#ifdef WF_LOAD_HOOKS
static void XLP_NAME(wf_loaded)(void) {}
static void XLP_NAME(wf_unloaded)(void) {}
XLP_LOAD_HOOKS(XLP_NAME(wf_loaded));
XLP_UNLOAD_HOOKS(XLP_NAME(wf_unloaded));
#endif

#ifdef WF_VETOING
static int XLP_NAME(wf_pre_apply)(const struct payload *p)
{
    (void)p;
    return 0;
}
static void XLP_NAME(wf_post_apply)(const struct payload *p)
{
    (void)p;
}
static int XLP_NAME(wf_pre_revert)(const struct payload *p)
{
    (void)p;
    return 0;
}
static void XLP_NAME(wf_post_revert)(const struct payload *p)
{
    (void)p;
}
XLP_PREAPPLY_HOOK(XLP_NAME(wf_pre_apply));
XLP_POSTAPPLY_HOOK(XLP_NAME(wf_post_apply));
XLP_PREREVERT_HOOK(XLP_NAME(wf_pre_revert));
XLP_POSTREVERT_HOOK(XLP_NAME(wf_post_revert));
#endif

#ifdef WF_ACTION_HOOKS
static int XLP_NAME(wf_apply_action)(const struct payload *p)
{
    (void)p;
    return 0;
}
static int XLP_NAME(wf_revert_action)(const struct payload *p)
{
    (void)p;
    return 0;
}
XLP_APPLY_HOOK(XLP_NAME(wf_apply_action));
XLP_REVERT_HOOK(XLP_NAME(wf_revert_action));
#endif

XLP_MODINFO("PURPOSE=workflow-test\0VARIANT=" WF_VARIANT);

static const char XLP_NAME(wf_target)[] = "xen_extra_version";

XLP_FUNC(XLP_NAME(wf_func)) = {
    .version = XLP_PAYLOAD_VERSION,
    .name = XLP_NAME(wf_target),
    .new_addr = (void *)XLP_NAME(wf_extra_version),
    .old_addr = 0,
    .new_size = 16,
    .old_size = 16,
};
