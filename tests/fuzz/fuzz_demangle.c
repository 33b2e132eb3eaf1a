/* libFuzzer harness for the Rust demangler (src/symbolize/demangle*.c).
 * Symbol names come from whatever binaries the watched program loads, and
 * are demangled inside it, on the crash path too: any bytes must give a
 * NUL-terminated name within the buffer, -EINVAL or -ENOSPC, without a
 * crash, an overrun or undefined behaviour. It also checks that a name
 * that fits once fits the same way in a buffer of exactly its size, and is
 * refused with -ENOSPC by one a byte shorter. */
#include "symbolize/demangle.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[4096], out[2048], again[2048];
    if (size >= sizeof name)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    int rc = st_demangle_rust(name, out, sizeof out);
    if (rc == -EINVAL || rc == -ENOSPC)
        return 0;
    if (rc < 0 || (size_t)rc >= sizeof out || strlen(out) != (size_t)rc)
        abort();
    if (st_demangle_rust(name, again, (size_t)rc + 1) != rc || memcmp(out, again, (size_t)rc))
        abort();
    if (st_demangle_rust(name, again, (size_t)rc) != -ENOSPC)
        abort();
    return 0;
}
