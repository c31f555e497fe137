/* abi_current.c - offsets, sizes and constants of the current ABI */
#include <stddef.h>

#include "wadispatch/provider.h"

#include "abi_fields.h"

#define FIELD(s, f) {#s "." #f, offsetof(s, f), sizeof(((s *)0)->f)},
#define STRUCT(s, grows) {#s, sizeof(s), grows},
#define CONST(c) {#c, (size_t)(c), 0},

const wa_abi_item wa_abi_current_fields[] = {
    WA_ABI_V1_0_FIELDS(FIELD) WA_ABI_V1_1_FIELDS(FIELD){NULL, 0, 0},
};
const wa_abi_item wa_abi_current_structs[] = {
    WA_ABI_STRUCTS(STRUCT){NULL, 0, 0},
};
const wa_abi_item wa_abi_current_consts[] = {
    WA_ABI_CONSTANTS(CONST){NULL, 0, 0},
};
const long wa_abi_current_minor = WA_PROVIDER_ABI_MINOR;
const wa_abi_item wa_abi_current_v1_1_fields[] = {
    WA_ABI_V1_1_FIELDS(FIELD){NULL, 0, 0},
};
const wa_abi_item wa_abi_current_v1_2_fields[] = {
    WA_ABI_V1_2_FIELDS(FIELD){NULL, 0, 0},
};
