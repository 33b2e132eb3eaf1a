/* Scope names (src/track/scope.c): interned once, so records compare them
 * by pointer. */
#include "track/scope.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(scope, a_name_interned_twice_is_one_pointer_among_thousands)
{
    enum { NAMES = 5000 };
    static const char *first[NAMES];
    char name[32];
    for (int i = 0; i < NAMES; i++) {
        snprintf(name, sizeof name, "suite::test_%d", i);
        first[i] = st_scope_intern(name);
        cr_assert_not_null(first[i]);
        cr_assert_str_eq(first[i], name);
    }
    for (int i = NAMES - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "suite::test_%d", i);
        cr_assert_eq(st_scope_intern(name), first[i], "%s interned again elsewhere", name);
    }
    cr_assert_neq(first[0], first[1]);
}

Test(scope, a_thread_opens_and_closes_its_scope)
{
    cr_assert_eq(st_scope_set("open_and_close"), 0);
    cr_assert_eq(st_scope_current(), st_scope_intern("open_and_close"));
    cr_assert_eq(st_scope_set(NULL), 0);
    cr_assert_null(st_scope_current());
}
