/* abi_frozen_v1_1.c - offsets, sizes and constants of the frozen v1.1 ABI */
#include <stddef.h>

#include "provider_v1_1.h"

#include "abi_fields.h"

#define FIELD(s, f) {#s "." #f, offsetof(s, f), sizeof(((s *)0)->f)},
#define STRUCT(s, grows) {#s, sizeof(s), grows},
#define CONST(c) {#c, (size_t)(c), 0},

const wa_abi_item wa_abi_frozen11_fields[] = {
    WA_ABI_V1_0_FIELDS(FIELD) WA_ABI_V1_1_FIELDS(FIELD){NULL, 0, 0},
};
const wa_abi_item wa_abi_frozen11_structs[] = {
    WA_ABI_STRUCTS(STRUCT){NULL, 0, 0},
};
const wa_abi_item wa_abi_frozen11_consts[] = {
    WA_ABI_CONSTANTS(CONST){NULL, 0, 0},
};
const long wa_abi_frozen11_minor = WA_PROVIDER_ABI_MINOR;
