/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's first instructions and its exception entry points.
 *
 * The launcher enters _start in 64-bit mode with the identity map in CR3,
 * RDI = the start-info page, RSP = the top of a 64 KiB stack, interrupts
 * off and no IDT.  _start zeroes the BSS, installs an IDT for the exception
 * vectors 0-31, calls main(start info) and shuts down with its result.
 *
 * Every exception stub leaves the same frame for exception_handler() in
 * start.c: vector, error code (0 where the CPU pushes none), then the CPU's
 * RIP, CS, RFLAGS, RSP, SS.  Exceptions are fatal: nothing returns to the
 * faulting code.
 */

#define NR_EXCEPTIONS	32
#define GATE_SIZE	16
#define GATE_INTR	0x8e00	/* present, DPL 0, 64-bit interrupt gate */

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	mov	%rdi, %r12		/* start info, callee-saved */
	xor	%ebp, %ebp		/* the end of the frame chain */
	and	$-16, %rsp		/* the ABI's alignment at a call */

	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb

	/* One interrupt gate per exception vector, to its stub. */
	lea	idt(%rip), %rdi
	lea	exception_stubs(%rip), %rsi
	mov	$NR_EXCEPTIONS, %ecx
	mov	%cs, %edx
1:	mov	(%rsi), %rax
	mov	%ax, 0(%rdi)		/* offset 15:0 */
	mov	%dx, 2(%rdi)		/* code segment selector */
	movw	$GATE_INTR, 4(%rdi)	/* IST 0, type, DPL, present */
	shr	$16, %rax
	mov	%ax, 6(%rdi)		/* offset 31:16 */
	shr	$16, %rax
	mov	%eax, 8(%rdi)		/* offset 63:32 */
	movl	$0, 12(%rdi)
	add	$8, %rsi
	add	$GATE_SIZE, %rdi
	dec	%ecx
	jnz	1b
	lidt	idtr(%rip)

	mov	%r12, %rdi
	call	page_alloc_init
	mov	%r12, %rdi
	call	main
	mov	%eax, %edi
	call	guest_exit
	ud2
	.size	_start, . - _start

/* The CPU pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30. */
.macro exception_stub vector
exception_\vector:
	.ifeq (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
	pushq	$0
	.endif
	pushq	$\vector
	jmp	exception_common
.endm

	.text
	.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	exception_stub \vector
	.endr

exception_common:
	cld
	mov	%rsp, %rdi		/* struct exception_frame */
	and	$-16, %rsp
	call	exception_handler
	ud2

	.section .rodata
	.balign 8
exception_stubs:
	.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	exception_\vector
	.endr

	.data
idtr:
	.word	NR_EXCEPTIONS * GATE_SIZE - 1
	.quad	idt

	.bss
	.balign 16
idt:
	.skip	NR_EXCEPTIONS * GATE_SIZE

	.section .note.GNU-stack, "", @progbits
