/* NOP payload: overwrites XLP_NOP_LEN bytes of a function at an absolute address (from xensyms). */
#include "xlp-payload.h"

static const struct xlp_func xlp_nop_func XLP_USED(".livepatch.funcs") = {
    .name = XLP_NOP_SYMBOL,
    .new_addr = 0,
    .old_addr = (const void *)XLP_NOP_ADDR,
    .new_size = XLP_NOP_LEN,
    .old_size = XLP_OLD_SIZE,
    .version = 2,
};
