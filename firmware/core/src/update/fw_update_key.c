/*
 * fw_update_key.c - tl_fw_update_init with the built-in signing key (update/signing_key.h,
 * generated at build time). Kept apart from fw_update.c so that programs that pass their
 * own key (unit tests: tl_fw_update_init_with_key) do not need the generated key.
 */
#include "theraloop/update/fw_update.h"
#include "theraloop/update/signing_key.h"

void tl_fw_update_init(const tl_storage_t *dev, tl_sysstate_t *st)
{
    tl_fw_update_init_with_key(dev, st, tl_signing_pubkey, tl_signing_key_hash);
}
