/* Rust's v0 mangling (RFC 2603; rustc's "v0 Symbol Format" chapter),
 * written from the grammar there: a recursive descent over the symbol after
 * "_R" that prints as it parses. Shown as that chapter recommends and
 * rustfilt prints: crate disambiguators, impl paths, the instantiating crate
 * and a vendor suffix are left out; closures and shims appear as
 * {closure#N} and {shim:NAME#N}. Back references jump back in the symbol;
 * depth and total work are bounded, so a hostile name costs little. */
#include "symbolize/demangle_out.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MAX_DEPTH 256
#define MAX_STEPS 200000
#define MAX_PUNYCODE 256 /* code points in one identifier */

struct v0 {
    const char *s; /* the symbol after "_R": back references count from here */
    size_t len, pos;
    struct dm_out *o;
    unsigned depth;
    unsigned long steps;
    uint64_t bound; /* lifetimes bound by the enclosing binders (for<...>) */
    bool error;
};

struct ident {
    const char *p;
    size_t len;
    bool punycode;
    uint64_t dis; /* disambiguator; 0 when absent */
};

static bool fail(struct v0 *d)
{
    d->error = true;
    return false;
}

static char peek(const struct v0 *d)
{
    if (d->pos < d->len)
        return d->s[d->pos];
    return '\0';
}

static bool eat(struct v0 *d, char c)
{
    if (peek(d) != c || c == '\0')
        return false;
    d->pos++;
    return true;
}

static char next(struct v0 *d)
{
    if (d->pos >= d->len) {
        fail(d);
        return '\0';
    }
    return d->s[d->pos++];
}

/* Every production starts here: bounded depth and work. A full output
 * stops the parse too, without an error (the caller says -ENOSPC). */
static bool enter(struct v0 *d)
{
    if (d->error || d->o->full)
        return false;
    if (++d->depth > MAX_DEPTH || ++d->steps > MAX_STEPS)
        return fail(d);
    return true;
}

static bool leave(struct v0 *d, bool ok)
{
    d->depth--;
    return ok && !d->error;
}

/* ------------------------------------------------------------- numbers */

/* base-62-number: "_" is 0; otherwise the digits' value plus one. */
static uint64_t base62(struct v0 *d)
{
    if (eat(d, '_'))
        return 0;
    uint64_t v = 0;
    for (;;) {
        char c = next(d);
        if (c == '_')
            break;
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'z')
            digit = 10u + (unsigned)(c - 'a');
        else if (c >= 'A' && c <= 'Z')
            digit = 36u + (unsigned)(c - 'A');
        else
            return fail(d), 0;
        if (v > (UINT64_MAX - digit) / 62)
            return fail(d), 0;
        v = v * 62 + digit;
    }
    if (v == UINT64_MAX)
        return fail(d), 0;
    return v + 1;
}

/* An optional tagged base-62-number plus one ("s" disambiguators, "G"
 * binders); 0 when the tag is absent. */
static uint64_t tagged_plus_one(struct v0 *d, char tag)
{
    if (!eat(d, tag))
        return 0;
    uint64_t v = base62(d);
    if (v == UINT64_MAX)
        return fail(d), 0;
    return v + 1;
}

static bool decimal(struct v0 *d, size_t *out)
{
    char c = peek(d);
    if (c == '0') {
        d->pos++;
        *out = 0;
        return true;
    }
    if (c < '1' || c > '9')
        return fail(d);
    size_t v = 0;
    while ((c = peek(d)) >= '0' && c <= '9') {
        v = v * 10 + (size_t)(c - '0');
        if (v > d->len)
            return fail(d);
        d->pos++;
    }
    *out = v;
    return true;
}

/* --------------------------------------------------------- identifiers */

static bool undisambiguated(struct v0 *d, struct ident *id)
{
    id->punycode = eat(d, 'u');
    size_t len;
    if (!decimal(d, &len))
        return false;
    eat(d, '_'); /* the separator before bytes that start with a digit or '_' */
    if (len > d->len - d->pos)
        return fail(d);
    id->p = d->s + d->pos;
    id->len = len;
    d->pos += len;
    return true;
}

static bool identifier(struct v0 *d, struct ident *id)
{
    id->dis = tagged_plus_one(d, 's');
    return !d->error && undisambiguated(d, id);
}

/* RFC 3492's bias adaptation, with Punycode's parameters. */
static uint32_t adapt(uint32_t delta, uint32_t points, bool first)
{
    delta = first ? delta / 700 : delta / 2;
    delta += delta / points;
    uint32_t k = 0;
    while (delta > 35 * 26 / 2) {
        delta /= 35;
        k += 36;
    }
    return k + 36 * delta / (delta + 38);
}

static int puny_digit(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '0' && c <= '9')
        return c - '0' + 26;
    return -1;
}

/* Punycode with '_' for '-' (the last '_' ends the ASCII part): decodes
 * into cps; the count, or -1 when malformed. */
static int punycode(const char *p, size_t len, uint32_t *cps)
{
    size_t basic = 0, at = 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '_')
            basic = i, at = i + 1;
    if (basic > MAX_PUNYCODE)
        return -1;
    int n = 0;
    for (size_t i = 0; i < basic; i++)
        cps[n++] = (unsigned char)p[i];
    uint32_t code = 128, i = 0, bias = 72;
    while (at < len) {
        uint32_t old = i, w = 1;
        for (uint32_t k = 36;; k += 36) {
            int digit = at < len ? puny_digit(p[at++]) : -1;
            if (digit < 0 || (uint32_t)digit > (UINT32_MAX - i) / w)
                return -1;
            i += (uint32_t)digit * w;
            uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
            if ((uint32_t)digit < t)
                break;
            if (w > UINT32_MAX / (36 - t))
                return -1;
            w *= 36 - t;
        }
        if (n == MAX_PUNYCODE)
            return -1;
        bias = adapt(i - old, (uint32_t)n + 1, old == 0);
        code += i / ((uint32_t)n + 1);
        i %= (uint32_t)n + 1;
        if (code > 0x10ffff)
            return -1;
        memmove(cps + i + 1, cps + i, ((size_t)n - i) * sizeof *cps);
        cps[i++] = code;
        n++;
    }
    return n;
}

static bool print_ident(struct v0 *d, const struct ident *id)
{
    if (!id->punycode) {
        dm_put(d->o, id->p, id->len);
        return true;
    }
    uint32_t cps[MAX_PUNYCODE];
    int n = punycode(id->p, id->len, cps);
    if (n < 0)
        return fail(d);
    for (int i = 0; i < n; i++)
        dm_code_point(d->o, cps[i]);
    return true;
}

/* ----------------------------------------------------------- lifetimes */

/* A lifetime by de Bruijn index: 0 is erased ('_); others name the
 * binder level they refer to: 'a, 'b, ... */
static bool print_lifetime(struct v0 *d, uint64_t index)
{
    if (index == 0) {
        dm_str(d->o, "'_");
        return true;
    }
    if (index > d->bound)
        return fail(d);
    uint64_t level = d->bound - index;
    if (level < 26) {
        dm_char(d->o, '\'');
        dm_char(d->o, (char)('a' + level));
    } else {
        dm_str(d->o, "'_");
        dm_uint(d->o, level);
    }
    return true;
}

/* An optional binder "G": prints "for<'a, 'b> " and binds them. */
static void binder(struct v0 *d)
{
    uint64_t count = tagged_plus_one(d, 'G');
    if (!count || d->error)
        return;
    if (count > 1000)
        return (void)fail(d);
    dm_str(d->o, "for<");
    for (uint64_t i = 0; i < count; i++) {
        if (i)
            dm_str(d->o, ", ");
        d->bound++;
        print_lifetime(d, 1);
    }
    dm_str(d->o, "> ");
}

/* ------------------------------------------------------- the productions */
/* The grammar is recursive, and so is its parser; enter() bounds the depth. */
/* NOLINTBEGIN(misc-no-recursion) */

static bool path(struct v0 *d, bool in_value);
static bool type(struct v0 *d);
static bool constant(struct v0 *d);

enum backref_kind { REF_PATH_VALUE, REF_PATH_TYPE, REF_TYPE, REF_CONST };

/* "B" base-62-number: the production at that earlier offset, printed
 * again. Nothing to print when quiet: its target was parsed already. */
static bool backref(struct v0 *d, enum backref_kind kind)
{
    size_t at = d->pos - 1;
    uint64_t target = base62(d);
    if (d->error || target >= at)
        return fail(d);
    if (d->o->quiet)
        return true;
    size_t saved = d->pos;
    d->pos = (size_t)target;
    bool ok = kind == REF_TYPE    ? type(d)
              : kind == REF_CONST ? constant(d)
                                  : path(d, kind == REF_PATH_VALUE);
    d->pos = saved;
    return ok;
}

/* impl-path: which impl block; not shown. */
static bool impl_path(struct v0 *d)
{
    bool quiet = d->o->quiet;
    d->o->quiet = true;
    tagged_plus_one(d, 's');
    bool ok = !d->error && path(d, false);
    d->o->quiet = quiet;
    return ok;
}

/* "N" namespace path identifier: "parent::name"; a closure or shim
 * (upper-case namespace) as "parent::{closure#0}". */
static bool nested_path(struct v0 *d, bool in_value)
{
    char ns = next(d);
    if (!((ns >= 'a' && ns <= 'z') || (ns >= 'A' && ns <= 'Z')))
        return fail(d);
    struct ident id;
    if (!path(d, in_value) || !identifier(d, &id))
        return false;
    if (ns >= 'a' && ns <= 'z') {
        if (id.len)
            dm_str(d->o, "::");
        return print_ident(d, &id);
    }
    dm_str(d->o, "::{");
    if (ns == 'C')
        dm_str(d->o, "closure");
    else if (ns == 'S')
        dm_str(d->o, "shim");
    else
        dm_char(d->o, ns);
    if (id.len) {
        dm_char(d->o, ':');
        print_ident(d, &id);
    }
    dm_char(d->o, '#');
    dm_uint(d->o, id.dis);
    dm_char(d->o, '}');
    return !d->error;
}

static bool generic_arg(struct v0 *d)
{
    if (eat(d, 'L')) {
        uint64_t index = base62(d);
        return !d->error && print_lifetime(d, index);
    }
    if (eat(d, 'K'))
        return constant(d);
    return type(d);
}

/* "I" path {generic-arg} "E": "path::<A, B>" (in a type: "path<A, B>"). */
static bool generic_args(struct v0 *d, bool in_value)
{
    if (!path(d, in_value))
        return false;
    dm_str(d->o, in_value ? "::<" : "<");
    for (int n = 0; !eat(d, 'E'); n++) {
        if (n)
            dm_str(d->o, ", ");
        if (!generic_arg(d))
            return false;
    }
    dm_char(d->o, '>');
    return true;
}

/* "<Type as Trait>" (X, Y) or "<Type>" (M). */
static bool qualified(struct v0 *d, bool with_trait)
{
    dm_char(d->o, '<');
    if (!type(d))
        return false;
    if (with_trait) {
        dm_str(d->o, " as ");
        if (!path(d, false))
            return false;
    }
    dm_char(d->o, '>');
    return true;
}

static bool path(struct v0 *d, bool in_value)
{
    if (!enter(d))
        return false;
    bool ok;
    struct ident id;
    switch (next(d)) {
    case 'C':
        ok = identifier(d, &id) && print_ident(d, &id);
        break;
    case 'M':
        ok = impl_path(d) && qualified(d, false);
        break;
    case 'X':
        ok = impl_path(d) && qualified(d, true);
        break;
    case 'Y':
        ok = qualified(d, true);
        break;
    case 'N':
        ok = nested_path(d, in_value);
        break;
    case 'I':
        ok = generic_args(d, in_value);
        break;
    case 'B':
        ok = backref(d, in_value ? REF_PATH_VALUE : REF_PATH_TYPE);
        break;
    default:
        ok = fail(d);
    }
    return leave(d, ok);
}

/* ----------------------------------------------------------------- types */

static const char *basic_type(char c)
{
    switch (c) {
    case 'a': return "i8";
    case 'b': return "bool";
    case 'c': return "char";
    case 'd': return "f64";
    case 'e': return "str";
    case 'f': return "f32";
    case 'h': return "u8";
    case 'i': return "isize";
    case 'j': return "usize";
    case 'l': return "i32";
    case 'm': return "u32";
    case 'n': return "i128";
    case 'o': return "u128";
    case 's': return "i16";
    case 't': return "u16";
    case 'u': return "()";
    case 'v': return "...";
    case 'x': return "i64";
    case 'y': return "u64";
    case 'z': return "!";
    case 'p': return "_";
    default: return NULL;
    }
}

/* "F" fn-sig: for<'a> unsafe extern "C" fn(A, B) -> R. */
static bool fn_type(struct v0 *d)
{
    uint64_t bound = d->bound;
    binder(d);
    if (eat(d, 'U'))
        dm_str(d->o, "unsafe ");
    if (eat(d, 'K')) {
        dm_str(d->o, "extern \"");
        struct ident abi = {0};
        if (eat(d, 'C'))
            dm_char(d->o, 'C');
        else if (!undisambiguated(d, &abi))
            return false;
        for (size_t i = 0; i < abi.len; i++) /* "system_unwind": "system-unwind" */
            dm_char(d->o, (char)(abi.p[i] == '_' ? '-' : abi.p[i]));
        dm_str(d->o, "\" ");
    }
    dm_str(d->o, "fn(");
    for (int n = 0; !eat(d, 'E'); n++) {
        if (n)
            dm_str(d->o, ", ");
        if (!type(d))
            return false;
    }
    dm_char(d->o, ')');
    bool ok = eat(d, 'u') || (dm_str(d->o, " -> "), type(d));
    d->bound = bound;
    return ok;
}

/* dyn-trait: a trait path and its associated types, "Trait<Item = T>"
 * (merged into the trait's own generic arguments when it has some). */
static bool dyn_trait(struct v0 *d)
{
    size_t start = d->o->used;
    if (!path(d, false))
        return false;
    bool open = false;
    while (eat(d, 'p')) {
        struct ident name;
        if (!undisambiguated(d, &name))
            return false;
        if (open) {
            dm_str(d->o, ", ");
        } else if (!d->o->quiet && !d->o->full && d->o->used > start &&
                   d->o->buf[d->o->used - 1] == '>') {
            d->o->used--;
            dm_str(d->o, ", ");
        } else {
            dm_char(d->o, '<');
        }
        open = true;
        print_ident(d, &name);
        dm_str(d->o, " = ");
        if (!(eat(d, 'K') ? constant(d) : type(d)))
            return false;
    }
    if (open)
        dm_char(d->o, '>');
    return true;
}

/* "D" dyn-bounds lifetime: dyn for<'a> A + B + 'b. */
static bool dyn_type(struct v0 *d)
{
    uint64_t bound = d->bound;
    dm_str(d->o, "dyn ");
    binder(d);
    for (int n = 0; !eat(d, 'E'); n++) {
        if (n)
            dm_str(d->o, " + ");
        if (!dyn_trait(d))
            return false;
    }
    d->bound = bound;
    if (!eat(d, 'L'))
        return fail(d);
    uint64_t index = base62(d);
    if (index) {
        dm_str(d->o, " + ");
        print_lifetime(d, index);
    }
    return !d->error;
}

/* A pattern type's pattern: "a..=b", or patterns joined by " | ". */
static bool pattern(struct v0 *d)
{
    if (!enter(d))
        return false;
    bool ok = true;
    if (eat(d, 'R')) {
        ok = constant(d) && (dm_str(d->o, "..="), constant(d));
    } else if (eat(d, 'O')) {
        for (int n = 0; ok && !eat(d, 'E'); n++) {
            if (n)
                dm_str(d->o, " | ");
            ok = pattern(d);
        }
    } else {
        ok = fail(d);
    }
    return leave(d, ok);
}

/* "R"/"Q" lifetime-opt type: &'a mut T (an erased lifetime not shown). */
static bool ref_type(struct v0 *d, bool mut)
{
    dm_char(d->o, '&');
    if (eat(d, 'L')) {
        uint64_t index = base62(d);
        if (index) {
            print_lifetime(d, index);
            dm_char(d->o, ' ');
        }
    }
    if (mut)
        dm_str(d->o, "mut ");
    return !d->error && type(d);
}

static bool tuple_type(struct v0 *d)
{
    dm_char(d->o, '(');
    int n = 0;
    for (; !eat(d, 'E'); n++) {
        if (n)
            dm_str(d->o, ", ");
        if (!type(d))
            return false;
    }
    if (n == 1)
        dm_char(d->o, ',');
    dm_char(d->o, ')');
    return true;
}

static bool type(struct v0 *d)
{
    if (!enter(d))
        return false;
    const char *basic = basic_type(peek(d));
    if (basic) {
        d->pos++;
        dm_str(d->o, basic);
        return leave(d, true);
    }
    bool ok;
    switch (next(d)) {
    case 'A':
        dm_char(d->o, '[');
        ok = type(d) && (dm_str(d->o, "; "), constant(d)) && (dm_char(d->o, ']'), true);
        break;
    case 'S':
        dm_char(d->o, '[');
        ok = type(d) && (dm_char(d->o, ']'), true);
        break;
    case 'T': ok = tuple_type(d); break;
    case 'R': ok = ref_type(d, false); break;
    case 'Q': ok = ref_type(d, true); break;
    case 'P': dm_str(d->o, "*const "); ok = type(d); break;
    case 'O': dm_str(d->o, "*mut "); ok = type(d); break;
    case 'F': ok = fn_type(d); break;
    case 'D': ok = dyn_type(d); break;
    case 'W':
        ok = type(d) && (dm_str(d->o, " is "), pattern(d));
        break;
    case 'B': ok = backref(d, REF_TYPE); break;
    default:
        d->pos--; /* a path to a named type */
        ok = path(d, false);
    }
    return leave(d, ok);
}

/* ---------------------------------------------------------------- consts */

/* A char constant as Rust writes it: 'a', '\n', '\u{7f}', 'é'. */
static void print_char(struct v0 *d, uint32_t cp)
{
    dm_char(d->o, '\'');
    if (cp == '\'' || cp == '\\') {
        dm_char(d->o, '\\');
        dm_char(d->o, (char)cp);
    } else if (cp == '\n' || cp == '\t' || cp == '\r' || cp == 0) {
        dm_char(d->o, '\\');
        dm_char(d->o, (char)(cp == '\n' ? 'n' : cp == '\t' ? 't' : cp == '\r' ? 'r' : '0'));
    } else if (cp < 0x20 || cp == 0x7f) {
        static const char hex[] = "0123456789abcdef";
        dm_str(d->o, "\\u{");
        if (cp >= 16)
            dm_char(d->o, hex[cp >> 4]);
        dm_char(d->o, hex[cp & 15]);
        dm_char(d->o, '}');
    } else {
        dm_code_point(d->o, cp);
    }
    dm_char(d->o, '\'');
}

/* const-data for a value of basic type ty: "n"-opt hex-digits "_". */
static bool const_data(struct v0 *d, char ty)
{
    bool negative = eat(d, 'n');
    const char *digits = d->s + d->pos;
    while (peek(d) != '_') {
        char c = next(d);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return fail(d);
    }
    size_t ndigits = (size_t)(d->s + d->pos - digits);
    d->pos++;
    while (ndigits > 1 && digits[0] == '0')
        digits++, ndigits--;
    uint64_t v = 0;
    for (size_t i = 0; i < ndigits && ndigits <= 16; i++)
        v = v * 16 + (uint64_t)(digits[i] <= '9' ? digits[i] - '0' : digits[i] - 'a' + 10);
    bool is_signed = strchr("asilxn", ty) != NULL;
    if (ty == 'b') {
        if (negative || ndigits > 1 || v > 1)
            return fail(d);
        dm_str(d->o, v ? "true" : "false");
    } else if (ty == 'c') {
        if (negative || ndigits > 6 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return fail(d);
        print_char(d, (uint32_t)v);
    } else if (ty && strchr("hmtyjoasilxn", ty)) {
        if (negative && !is_signed)
            return fail(d);
        if (negative)
            dm_char(d->o, '-');
        if (ndigits <= 16) {
            dm_uint(d->o, v);
        } else { /* beyond 64 bits (i128, u128): in hex */
            dm_str(d->o, "0x");
            dm_put(d->o, digits, ndigits);
        }
    } else {
        return fail(d);
    }
    return true;
}

static bool constant(struct v0 *d)
{
    if (!enter(d))
        return false;
    bool ok;
    if (eat(d, 'p')) {
        dm_char(d->o, '_');
        ok = true;
    } else if (eat(d, 'B')) {
        ok = backref(d, REF_CONST);
    } else {
        char ty = next(d);
        ok = !d->error && const_data(d, ty);
    }
    return leave(d, ok);
}

/* NOLINTEND(misc-no-recursion) */

/* ------------------------------------------------------------ the symbol */

static bool at_suffix(const struct v0 *d)
{
    char c = peek(d);
    return c == '\0' || c == '.' || c == '$';
}

int st_demangle_rust_v0(const char *name, struct dm_out *o)
{
    struct v0 d = {.s = name, .len = strlen(name), .o = o};
    /* An encoding version: none is defined yet. */
    if (peek(&d) >= '0' && peek(&d) <= '9')
        return -EINVAL;
    bool ok = path(&d, true);
    if (ok && !at_suffix(&d)) { /* the instantiating crate: checked, not shown */
        bool quiet = o->quiet;
        o->quiet = true;
        ok = path(&d, false);
        o->quiet = quiet;
    }
    if (o->full)
        return 0;
    return ok && !d.error && at_suffix(&d) ? 0 : -EINVAL;
}
