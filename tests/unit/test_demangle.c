/* Rust demangling (src/symbolize/demangle*.c): real names from a Rust
 * program built here with rustc 1.95 (both manglings), each with what a
 * person should read; malformed and hostile names; and, where binutils'
 * c++filt is installed (it knows both Rust schemes), every name in
 * tests/unit/data/rust_symbols.txt checked against it. */
#define _GNU_SOURCE
#include "symbolize/demangle.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYMBOLS_FILE "tests/unit/data/rust_symbols.txt"

static void expect(const char *mangled, const char *want)
{
    char out[4096];
    int rc = st_demangle_rust(mangled, out, sizeof out);
    cr_assert_geq(rc, 0, "%s: error %d", mangled, rc);
    cr_assert_str_eq(out, want, "%s", mangled);
    cr_assert_eq((size_t)rc, strlen(want));
}

static void expect_not_rust(const char *name)
{
    char out[256] = "untouched";
    cr_assert_eq(st_demangle_rust(name, out, sizeof out), -EINVAL, "%s", name);
}

Test(demangle, v0_paths_impls_and_traits)
{
    expect("_RNvCs2ndz2m94zur_4demo8takes_fn", "demo::takes_fn");
    expect("_RNvXs_Cs2ndz2m94zur_4demoNtB4_3DogNtB4_5Speak5speak",
           "<demo::Dog as demo::Speak>::speak");
    expect("_RNvYNtCs2ndz2m94zur_4demo3DogNtB4_5Speak5shoutB4_",
           "<demo::Dog as demo::Speak>::shout");
    expect("_RNvMCs2ndz2m94zur_4demoINtB2_7WrapperhKj3_E4showB2_", "<demo::Wrapper<u8, 3>>::show");
    expect("_RNvXCsgAJmZNLiHkx_5demo2NtB2_1SNtB2_2Tr2go", "<demo2::S as demo2::Tr>::go");
    /* The spec's own example (rustc book, "v0 Symbol Format"). */
    expect("_RNvMsr_NtCs3ssYzQotkvD_3std4pathNtB5_7PathBuf3newCs15kBYyAo9fc_7mycrate",
           "<std::path::PathBuf>::new");
}

Test(demangle, v0_closures_shims_and_unicode_names)
{
    expect("_RNCNvCsgAJmZNLiHkx_5demo24main0B3_", "demo2::main::{closure#0}");
    expect("_RNCNvCsgAJmZNLiHkx_5demo24mains_0B3_", "demo2::main::{closure#1}");
    expect("_RNSNvCsgAJmZNLiHkx_5demo27tracked5reifyB3_", "demo2::tracked::{shim:reify#0}");
    expect("_RNCINvNtCsjrHSEGnQ3l9_3std2rt10lang_startuE0CsgAJmZNLiHkx_5demo2",
           "std::rt::lang_start::<()>::{closure#0}");
    expect("_RNvNtNtCs2ndz2m94zur_4demou8gdel_5qa6escher4bach", "demo::gödel::escher::bach");
    expect("_RNvMNtCsgAJmZNLiHkx_5demo2u13ncd_dma1a7bzbNtB2_u8mega_ukd3new",
           "<demo2::ünïcödé::Ωmega>::new");
    expect("_RNvNtCsgAJmZNLiHkx_5demo2u13ncd_dma1a7bzbu7bbrz78b", "demo2::ünïcödé::函数");
}

Test(demangle, v0_types_in_generic_arguments)
{
    expect("_RINvCsgAJmZNLiHkx_5demo25probeThuAtj4_RSxQePfOdEEB2_",
           "demo2::probe::<(u8, (), [u16; 4], &[i64], &mut str, *const f32, *mut f64)>");
    expect("_RINvCsgAJmZNLiHkx_5demo25probeThEEB2_", "demo2::probe::<(u8,)>");
    expect("_RINvCsgAJmZNLiHkx_5demo25probeScEB2_", "demo2::probe::<[char]>");
    expect("_RINvCsgAJmZNLiHkx_5demo25probeFG0_RL1_hRL0_tEbEB2_",
           "demo2::probe::<for<'a, 'b> fn(&'a u8, &'b u16) -> bool>");
    expect("_RINvCsgAJmZNLiHkx_5demo25probeFUKClvElEB2_",
           "demo2::probe::<unsafe extern \"C\" fn(i32, ...) -> i32>");
    expect("_RINvCsgAJmZNLiHkx_5demo25probeFK6systemEuEB2_",
           "demo2::probe::<extern \"system\" fn()>");
    expect("_RINvCsgAJmZNLiHkx_5demo25probeDNtNtNtNtCsgEmfK2I1SDS_4core4iter6traits8iterator8Iter"
           "atorp4ItemhEL_EB2_",
           "demo2::probe::<dyn core::iter::traits::iterator::Iterator<Item = u8>>");
    expect("_RINvCsgAJmZNLiHkx_5demo25probeDG_INtNtNtCsgEmfK2I1SDS_4core3ops8function2FnTRL0_hEEp"
           "6OutputjNtNtBC_6marker4SyncNtB1u_4SendEL_EB2_",
           "demo2::probe::<dyn for<'a> core::ops::function::Fn<(&'a u8,), Output = usize> + "
           "core::marker::Sync + core::marker::Send>");
    expect("_RINvCsgAJmZNLiHkx_5demo25probeDG_INtB2_2TrL0_Ep3OutRL0_hEL_EB2_",
           "demo2::probe::<dyn for<'a> demo2::Tr<'a, Out = &'a u8>>");
}

/* c++filt prints these wrongly (a trailing '_' for 128-bit values, an
 * unescaped quote): checked here by hand instead. */
Test(demangle, v0_constants)
{
    expect("_RINvCs2ndz2m94zur_4demo10with_constKxn5_Kb1_Kce9_EB2_",
           "demo::with_const::<-5, true, 'é'>");
    expect("_RINvCsgAJmZNLiHkx_5demo26cprobeKo0_Kn0_Kca_Ka7f_EB2_",
           "demo2::cprobe::<0, 0, '\\n', 127>");
    expect("_RINvCsgAJmZNLiHkx_5demo26cprobeKo1_Knn1_Kc5c_Ka0_EB2_",
           "demo2::cprobe::<1, -1, '\\\\', 0>");
    expect("_RINvCsgAJmZNLiHkx_5demo26cprobeKoffffffffffffffffffffffffffffffff_Knn800000000000000"
           "00000000000000000_Kc27_Kan80_EB2_",
           "demo2::cprobe::<0xffffffffffffffffffffffffffffffff, "
           "-0x80000000000000000000000000000000, '\\'', -128>");
}

Test(demangle, legacy_names_lose_their_hash)
{
    expect("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17hc6ac2921ddeee6e5E",
           "std::rt::lang_start::{{closure}}");
    expect("_ZN38_$LT$demo2..S$u20$as$u20$demo2..Tr$GT$2go17h1037d8b59625cb34E",
           "<demo2::S as demo2::Tr>::go");
    expect("_ZN110_$LT$core..iter..adapters..enumerate..Enumerate$LT$I$GT$$u20$as$u20$core..iter"
           "..traits..iterator..Iterator$GT$8try_fold9enumerate28_$u7b$$u7b$closure$u7d$$u7d$17hd"
           "a88cd943ef7eda5E",
           "<core::iter::adapters::enumerate::Enumerate<I> as "
           "core::iter::traits::iterator::Iterator>::try_fold::enumerate::{{closure}}");
    expect("_ZN5demo224_$ufc$n$uef$c$uf6$d$ue9$15_$u51fd$$u6570$17h74985e1b40477e74E",
           "demo2::ünïcödé::函数");
    expect("_ZN5demo237tracked$u7b$$u7b$reify.shim$u7d$$u7d$17hf5786b94d5d59329E",
           "demo2::tracked{{reify.shim}}");
    /* An LTO suffix after the name is not shown. */
    expect("_ZN3foo3bar17h0123456789abcdefE.llvm.4242", "foo::bar");
}

Test(demangle, cxx_and_plain_names_are_left_alone)
{
    expect_not_rust("_ZN3foo3barE");  /* C++ foo::bar (no Rust hash) */
    expect_not_rust("_ZN3foo3barEv"); /* C++ foo::bar() */
    expect_not_rust("_ZNSt6thread6_StateD2Ev");
    expect_not_rust("main");
    expect_not_rust("_R");
    expect_not_rust("");
    expect_not_rust("_ZN3foo17h012345678ZabcdefE"); /* not a hex hash */
}

Test(demangle, malformed_v0_names_are_refused)
{
    expect_not_rust("_RNvC");                   /* cut short */
    expect_not_rust("_RNvCs2ndz2m94zur_4demo");  /* nested path without its name */
    expect_not_rust("_RNvCs2ndz2m94zur_4demo9takes_fn"); /* length past the end */
    expect_not_rust("_RB_");                    /* back reference to itself */
    expect_not_rust("_RNvB9_4main");            /* back reference forward */
    expect_not_rust("_RINvC1a1fKxg_EB2_");      /* not a hex digit in a constant */
    expect_not_rust("_RINvC1a1fKhn1_E");        /* negative unsigned */
    expect_not_rust("_RINvC1a1fKb2_E");         /* bool 2 */
    expect_not_rust("_RINvC1a1fRL1_hE");        /* lifetime bound by no binder */
    expect_not_rust("_R0NvC1a1f");              /* an unknown encoding version */
    expect_not_rust("_RNvC1a1fjunk");           /* trailing bytes that are no path */
}

/* Back references that double at each level: 2^40 paths if followed
 * blindly. The work bound stops it. */
Test(demangle, exponential_back_references_stop_quickly)
{
    char name[4096] = "_RINvC1a1fTC1bC1bE";
    size_t used = strlen(name);
    for (int i = 0; i < 40; i++)
        used += (size_t)snprintf(name + used, sizeof name - used, "TB%s_B%s_E", "2", "2");
    snprintf(name + used, sizeof name - used, "E");
    char out[256];
    int rc = st_demangle_rust(name, out, sizeof out);
    cr_assert(rc == -EINVAL || rc == -ENOSPC, "rc %d", rc);
}

Test(demangle, a_short_buffer_gives_enospc_and_the_arena_wrapper_copes)
{
    const char *name = "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17hc6ac2921ddeee6e5E";
    char out[8];
    cr_assert_eq(st_demangle_rust(name, out, sizeof out), -ENOSPC);
    struct st_arena arena = {0};
    cr_assert_str_eq(st_demangled_rust(name, &arena), "std::rt::lang_start::{{closure}}");
    cr_assert_null(st_demangled_rust("_ZN3foo3barEv", &arena));
    /* Longer than the 1 KiB first try: a tuple of 40 long type paths. */
    char big[8192] = "_RINvC4main5probeT";
    for (int i = 0; i < 40; i++)
        strcat(big, "NtC30abcdefghijklmnopqrstuvwxyzabcd4Type");
    strcat(big, "EE");
    const char *long_name = st_demangled_rust(big, &arena);
    cr_assert_not_null(long_name);
    cr_assert_eq(strlen(long_name), strlen("main::probe::<()>") + 40 * 36 + 39 * 2);
    cr_assert_eq(strncmp(long_name, "main::probe::<(abcdefghijklmnopqrstuvwxyzabcd::Type, ", 52),
                 0, "%.60s", long_name);
    st_arena_free(&arena);
}

/* ------------------------------------------------- c++filt as an oracle */

/* c++filt's way of writing what strays writes otherwise, undone: crate
 * disambiguators "[0123abcd...]", the legacy hash "::h<16 hex>", a
 * constant's type ("3: usize"), \u{..} and $u..$ escapes of characters. */
static void normalise(const char *in, char *out, size_t len)
{
    static const char *const types[] = {"i8",   "i16",  "i32", "i64", "i128", "isize", "u8",
                                        "u16",  "u32",  "u64", "u128", "usize", "bool", "char"};
    size_t o = 0;
    for (const char *p = in; *p && o + 5 < len;) {
        size_t hex = *p == '[' ? strspn(p + 1, "0123456789abcdef") : 0;
        if (hex >= 8 && p[1 + hex] == ']') {
            p += hex + 2;
            continue;
        }
        if (!strncmp(p, "::h", 3) && strspn(p + 3, "0123456789abcdef") == 16 && !p[19]) {
            break;
        }
        bool typed = false;
        for (size_t i = 0; i < sizeof types / sizeof types[0] && !strncmp(p, ": ", 2); i++) {
            size_t n = strlen(types[i]);
            if (!strncmp(p + 2, types[i], n) && strchr(",>]", p[2 + n]) && p[2 + n]) {
                p += 2 + n;
                typed = true;
            }
        }
        if (typed)
            continue;
        unsigned cp;
        int used = 0;
        if ((sscanf(p, "\\u{%x}%n", &cp, &used) == 1 && used) ||
            (sscanf(p, "$u%x$%n", &cp, &used) == 1 && used)) {
            /* UTF-8 of cp */
            if (cp < 0x80) {
                out[o++] = (char)cp;
            } else if (cp < 0x800) {
                out[o++] = (char)(0xc0 | cp >> 6);
                out[o++] = (char)(0x80 | (cp & 0x3f));
            } else {
                out[o++] = (char)(0xe0 | cp >> 12);
                out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[o++] = (char)(0x80 | (cp & 0x3f));
            }
            p += used;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

Test(demangle, real_names_read_as_cxxfilt_reads_them)
{
    if (access("/usr/bin/c++filt", X_OK) != 0)
        cr_skip_test("c++filt is not installed (Debian package binutils)");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "grep -v '^#' %s | /usr/bin/c++filt", SYMBOLS_FILE);
    FILE *names = fopen(SYMBOLS_FILE, "r"), *oracle = popen(cmd, "r");
    cr_assert_not_null(names, "cannot read %s (run from the repository root)", SYMBOLS_FILE);
    cr_assert_not_null(oracle);
    static char name[8192], said[16384], want[16384], got[16384];
    int checked = 0;
    while (fgets(name, sizeof name, names)) {
        if (name[0] == '#')
            continue;
        name[strcspn(name, "\n")] = '\0';
        cr_assert_not_null(fgets(said, sizeof said, oracle), "c++filt stopped at %s", name);
        said[strcspn(said, "\n")] = '\0';
        normalise(said, want, sizeof want);
        int rc = st_demangle_rust(name, got, sizeof got);
        cr_assert_geq(rc, 0, "%s: error %d", name, rc);
        cr_assert_str_eq(got, want, "%s\nc++filt: %s", name, said);
        checked++;
    }
    fclose(names);
    pclose(oracle);
    cr_assert_gt(checked, 150, "only %d names", checked);
}
