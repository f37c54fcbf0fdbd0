/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's first instructions, and its exception and interrupt entry
 * points.
 *
 * The launcher enters _start on every vCPU in 64-bit mode with the
 * identity map in CR3, RDI = the start-info page (shared), RSI = the
 * vCPU's id, RSP = the top of a 64 KiB stack of its own, interrupts off
 * and no IDT.  vCPU 0 zeroes the BSS, fills the IDT (idt_fill() in
 * start.c), loads it, calls kit_init(start info) and main(start info), and
 * shuts down with main's result.  Any other vCPU touches nothing vCPU 0
 * sets up: it loads the IDT register, which lives in .data (the table it
 * points at is filled by vCPU 0 before anything interrupts another vCPU),
 * and waits in smp_secondary() for work.
 *
 * Every exception stub leaves the same frame for exception_handler() in
 * start.c: vector, error code (0 where the CPU pushes none), then the CPU's
 * RIP, CS, RFLAGS, RSP, SS.  Exceptions are fatal: nothing returns to the
 * faulting code.
 *
 * Interrupt stubs (vectors 32-255, IRQ_STUB_SIZE bytes apart from
 * irq_stubs) push their vector and join irq_common, which saves every
 * general register, calls irq_dispatch(vector) on a 16-byte aligned stack
 * and returns with IRETQ.  Vector registers are not saved: the kit is
 * built with -mgeneral-regs-only.
 */

#define NR_VECTORS	256
#define NR_EXCEPTIONS	32
#define GATE_SIZE	16
#define IRQ_STUB_SIZE	16

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	test	%rsi, %rsi
	jnz	secondary_start
	mov	%rdi, %r12		/* start info, callee-saved */
	xor	%ebp, %ebp		/* the end of the frame chain */
	and	$-16, %rsp		/* the ABI's alignment at a call */

	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb

	call	idt_fill
	lidt	idtr(%rip)

	mov	%r12, %rdi
	call	kit_init
	mov	%r12, %rdi
	call	main
	mov	%eax, %edi
	call	guest_exit
	ud2

/* Not the boot vCPU: no BSS, no stores to anything shared but mailboxes. */
secondary_start:
	xor	%ebp, %ebp
	and	$-16, %rsp
	lidt	idtr(%rip)
	mov	%esi, %edi
	call	smp_secondary
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

/* One stub per interrupt vector, each at irq_stubs + (vector - 32) * 16. */
	.balign	IRQ_STUB_SIZE
	.globl	irq_stubs
irq_stubs:
	irq_vector = NR_EXCEPTIONS
	.rept	NR_VECTORS - NR_EXCEPTIONS
	.balign	IRQ_STUB_SIZE
	pushq	$irq_vector
	jmp	irq_common
	irq_vector = irq_vector + 1
	.endr

irq_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rbx
	push	%rbp
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	cld
	mov	15*8(%rsp), %edi	/* the vector its stub pushed */
	mov	%rsp, %rbx		/* callee-saved: survives the call */
	and	$-16, %rsp
	call	irq_dispatch
	mov	%rbx, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rbp
	pop	%rbx
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$8, %rsp		/* the vector */
	iretq

	.section .rodata
	.balign 8
	.globl	exception_stubs
exception_stubs:
	.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	exception_\vector
	.endr

/* In .data, not .bss: the other vCPUs load it before vCPU 0 zeroes BSS. */
	.data
	.balign 8
idtr:
	.word	NR_VECTORS * GATE_SIZE - 1
	.quad	idt

	.bss
	.balign 16
	.globl	idt
idt:
	.skip	NR_VECTORS * GATE_SIZE

	.section .note.GNU-stack, "", @progbits
