/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world switch, and the only assembly of it: load the guest's
 * general-purpose registers, VMLAUNCH or VMRESUME, and on VM exit save them
 * and restore the host's.
 *
 * Called with interrupts disabled and this vCPU's VMCS current.  RSP and
 * RIP are switched by the processor (HOST_RSP is written here, HOST_RIP is
 * pvisor_vmx_vmexit); every other register is the caller's to preserve.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

/* VMCS field encoding of HOST_RSP (asm/vmx.h is C only). */
#define VMCS_HOST_RSP	0x00006c14

#define WORD		8
#define REG(n)		((n) * WORD)
/* Indexes of enum pvisor_reg (the x86 encoding order). */
#define RAX	REG(0)
#define RCX	REG(1)
#define RDX	REG(2)
#define RBX	REG(3)
#define RBP	REG(5)
#define RSI	REG(6)
#define RDI	REG(7)
#define R8	REG(8)
#define R9	REG(9)
#define R10	REG(10)
#define R11	REG(11)
#define R12	REG(12)
#define R13	REG(13)
#define R14	REG(14)
#define R15	REG(15)

.text

/*
 * int pvisor_vmx_vmenter(unsigned long *regs, bool launched)
 *
 * Returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed (VMfail) or
 * faulted; the caller reads VM_INSTRUCTION_ERROR.
 */
SYM_FUNC_START(pvisor_vmx_vmenter)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* @regs, for after the exit. */
	push	%rdi

	/* The exit lands on this stack pointer. */
	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	jna	.Lvmfail

	/* CF := @launched, for the choice below; nothing may touch flags. */
	bt	$0, %esi

	mov	%rdi, %rax
	mov	RCX(%rax), %rcx
	mov	RDX(%rax), %rdx
	mov	RBX(%rax), %rbx
	mov	RBP(%rax), %rbp
	mov	RSI(%rax), %rsi
	mov	RDI(%rax), %rdi
	mov	R8(%rax), %r8
	mov	R9(%rax), %r9
	mov	R10(%rax), %r10
	mov	R11(%rax), %r11
	mov	R12(%rax), %r12
	mov	R13(%rax), %r13
	mov	R14(%rax), %r14
	mov	R15(%rax), %r15
	mov	RAX(%rax), %rax

	/* VERW where the host's MDS/MMIO mitigations ask for it (ZF only). */
	CLEAR_CPU_BUFFERS

	jc	.Lvmresume
	UNWIND_HINT_SAVE
.Lvmlaunch:
	vmlaunch
	jmp	.Lvmfail
.Lvmresume:
	vmresume
	jmp	.Lvmfail

	_ASM_EXTABLE(.Lvmlaunch, .Lvmfail)
	_ASM_EXTABLE(.Lvmresume, .Lvmfail)

SYM_INNER_LABEL(pvisor_vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	push	%rax
	mov	WORD(%rsp), %rax
	pop	RAX(%rax)
	mov	%rcx, RCX(%rax)
	mov	%rdx, RDX(%rax)
	mov	%rbx, RBX(%rax)
	mov	%rbp, RBP(%rax)
	mov	%rsi, RSI(%rax)
	mov	%rdi, RDI(%rax)
	mov	%r8, R8(%rax)
	mov	%r9, R9(%rax)
	mov	%r10, R10(%rax)
	mov	%r11, R11(%rax)
	mov	%r12, R12(%rax)
	mov	%r13, R13(%rax)
	mov	%r14, R14(%rax)
	mov	%r15, R15(%rax)
	xor	%ebx, %ebx

.Lout:
	/* Leave no guest value in a register for speculation to use. */
	xor	%eax, %eax
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%ebp, %ebp
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d

	/* Before the first unbalanced RET: refill the return stack buffer. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT,\
			   X86_FEATURE_RSB_VMEXIT_LITE
	CLEAR_BRANCH_HISTORY_VMEXIT

	pop	%rdi
	mov	%rbx, %rax
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

.Lvmfail:
	/* VMfail, a fault, or HOST_RSP could not be written. */
	mov	$1, %ebx
	jmp	.Lout
SYM_FUNC_END(pvisor_vmx_vmenter)
