/* The vfork interposer. A vfork child runs on its parent's memory until it
 * calls exec or _exit, so anything a hook does there (untrack the fd the
 * child closes before exec, note its exit status) would be done to the
 * parent's registries. The hook raises the calling thread's guard for the
 * child's whole life, so every hook in it passes straight through, and
 * lowers it again when the parent resumes.
 *
 * It is written in assembly because the child returns from vfork onto the
 * stack the parent will return on: whatever the hook kept on that stack
 * before vfork (its own return address first of all) can be overwritten by
 * the child. The return address waits in a thread-local slot instead, as
 * glibc's own vfork keeps it in a register across the system call. Only
 * x86-64 has the hook; elsewhere vfork goes straight to libc. */
#define _GNU_SOURCE
#include "interpose.h"

#include <stdint.h>

ST_TLS int st_in_vfork_child;

void *st_vfork_enter(uintptr_t return_address);
uintptr_t st_vfork_leave(long result);

#if defined(__x86_64__)

static ST_TLS uintptr_t vfork_return_address;

/* Before the real vfork: the guard goes up in the (shared) thread-local
 * state, which the child inherits and the parent gets back unchanged. */
void *st_vfork_enter(uintptr_t return_address)
{
    vfork_return_address = return_address;
    st_guard_enter();
    st_in_vfork_child = 1;
    return (void *)REAL(vfork);
}

/* After it, in the child (result 0) and in the parent (child's pid or -1,
 * errno set by libc and left alone here). Returns where to go back to. */
uintptr_t st_vfork_leave(long result)
{
    if (result != 0) {
        st_in_vfork_child = 0;
        st_guard_leave();
    }
    return vfork_return_address;
}

/* vfork: pop the return address, call the real vfork through st_vfork_enter's
 * answer, then jump back to the address st_vfork_leave hands out. The stack
 * stays 16-byte aligned at each call. */
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork, @function\n"
        "vfork:\n"
        "    pop %rdi\n"
        "    call st_vfork_enter\n"
        "    call *%rax\n"
        "    push %rax\n"
        "    push %rax\n"
        "    mov %rax, %rdi\n"
        "    call st_vfork_leave\n"
        "    mov %rax, %rcx\n"
        "    pop %rax\n"
        "    pop %rax\n"
        "    jmp *%rcx\n"
        ".size vfork, .-vfork\n");

#endif
