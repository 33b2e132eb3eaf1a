/* The dlclose interposer. A module dlclose unloads takes its code away, and
 * other code may be loaded at the same addresses later: stacks captured
 * while it was there must still name it. The module is looked at before
 * the real call (after it, its link map is gone) and, if the call really
 * unloaded it, the interned stacks with frames in it are told which. */
#define _GNU_SOURCE
#include "interpose.h"

#include "track/modules.h"

INTERPOSER int dlclose(void *handle)
{
    if (!st_active())
        return REAL(dlclose)(handle);
    struct st_unloaded_module *closing;
    CORE(closing = st_modules_closing(handle));
    int rc = REAL(dlclose)(handle);
    if (rc == 0 && closing)
        CORE(st_modules_closed(closing));
    return rc;
}
