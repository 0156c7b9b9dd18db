/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * start.S: multiboot v1 header and entry of the stress guest.
 *
 * The loader (QEMU's or tern's multiboot loader) enters _start in 32-bit
 * protected mode with flat segments, paging and interrupts off,
 * EAX = 0x2BADB002 and EBX = the guest-physical address of the multiboot
 * information.  We clear .bss, set up our own stack and call
 * stress_main(magic, mbi), which never returns.
 */
#define MB_MAGIC    0x1BADB002
#define MB_FLAGS    0x00000003      /* page-align modules, want mem info */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .text
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    mov %eax, %esi                  /* keep magic and mbi across the clear */
    mov %ebx, %edx
    lgdt gdt_desc                   /* the loader's GDT may be gone */
    ljmp $0x08, $1f
1:  mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $__bss_start, %edi
    mov $_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov $stack_top, %esp
    xor %ebp, %ebp
    push %edx                       /* mbi */
    push %esi                       /* magic */
    call stress_main
2:  cli
    hlt
    jmp 2b

    .section .rodata
    .align 8
gdt:
    .quad 0                         /* null */
    .quad 0x00cf9b000000ffff        /* 0x08: code, flat 4 GiB, accessed */
    .quad 0x00cf93000000ffff        /* 0x10: data, flat 4 GiB, accessed */
gdt_desc:
    .word gdt_desc - gdt - 1
    .long gdt

    .bss
    .align 16
stack:
    .space 65536
stack_top:

    .section .note.GNU-stack, "", @progbits
