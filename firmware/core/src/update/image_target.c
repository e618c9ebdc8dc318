/*
 * image_target.c - names and text helpers of update/image_target.h.
 */
#include "theraloop/update/image_target.h"

#include <stddef.h>
#include <string.h>

const char *tl_imgt_err_name(uint32_t err)
{
    static const char *const k_names[] = {
        [TL_IMGT_OK] = "ok",
        [TL_IMGT_ERR_BUSY] = "busy",
        [TL_IMGT_ERR_NO_SLOT] = "no_slot",
        [TL_IMGT_ERR_TOO_BIG] = "too_big",
        [TL_IMGT_ERR_STORAGE] = "storage",
        [TL_IMGT_ERR_IMAGE] = "image",
        [TL_IMGT_ERR_VALIDATION] = "validation",
        [TL_IMGT_ERR_NO_IMAGE] = "no_image",
        [TL_IMGT_ERR_DENIED] = "denied",
        [TL_IMGT_ERR_OLDER] = "older",
        [TL_IMGT_ERR_NO_STORAGE] = "no_storage",
    };
    if (err < sizeof(k_names) / sizeof(k_names[0]) && k_names[err] != NULL) {
        return k_names[err];
    }
    return "unknown";
}

void tl_imgt_text_add(char *buf, uint32_t cap, const char *s)
{
    if (buf == NULL || cap == 0u || s == NULL) {
        return;
    }
    size_t used = 0;
    while (used < cap && buf[used] != '\0') {
        used++;
    }
    if (used >= cap) {
        buf[cap - 1u] = '\0';
        return;
    }
    size_t room = (size_t)cap - 1u - used;
    size_t n = strlen(s);
    if (n > room) {
        n = room;
    }
    memcpy(buf + used, s, n);
    buf[used + n] = '\0';
}

void tl_imgt_text_add_u32(char *buf, uint32_t cap, uint32_t v)
{
    char digits[11];
    size_t i = sizeof(digits) - 1u;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u && i > 0u);
    tl_imgt_text_add(buf, cap, &digits[i]);
}
