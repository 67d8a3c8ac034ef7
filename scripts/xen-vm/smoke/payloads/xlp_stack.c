/* Hooks-only payload meant to be stacked on top of another one (its depends names it). */
static void xlp_stack_load(void)
{
    printk("xlp-stack: load hook ran\n");
}

XLP_LOAD_HOOKS(xlp_stack_load);
