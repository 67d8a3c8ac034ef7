/* NOP payload: overwrites XLP_NOP_LEN bytes of a function at an absolute address (from xensyms). */
XLP_FUNC(xlp_nop_func) = {
    .name = XLP_NOP_SYMBOL,
    .new_addr = 0,
    .old_addr = (void *)XLP_NOP_ADDR,
    .new_size = XLP_NOP_LEN,
    .old_size = XLP_OLD_SIZE,
    .version = XLP_PAYLOAD_VERSION,
};
