/* Layer type -> kernel. SDK types 1..25 and 10240..10243, EMC generic int8 types 0x4000+. */
#include "emc_internal.h"

#define K(name) extern const emc_kernel_t name;
#include "emc_kernels.def"
#undef K

static const emc_kernel_t *const kernels[] = {
#define K(name) &name,
#include "emc_kernels.def"
#undef K
};

const emc_kernel_t *emc_find_kernel(uint32_t type)
{
    size_t i;
    for (i = 0; i < sizeof kernels / sizeof kernels[0]; i++)
        if (kernels[i]->type == type)
            return kernels[i];
    return NULL;
}

int emc_layer_type_supported(uint32_t type) { return emc_find_kernel(type) != NULL; }
