/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only inline assembly of pvisor: one checked wrapper per VMX
 * instruction.  Each returns 0, or -EIO when the instruction failed
 * (VMfailInvalid/VMfailValid), or -EFAULT when it faulted (for example #UD
 * because this CPU is not in VMX operation); the exception-table entry turns
 * the fault into a return value so the caller decides what to report.
 * Callers run with preemption disabled: VMX state is per CPU.
 */
#ifndef PVISOR_VMX_OPS_H
#define PVISOR_VMX_OPS_H

#include <linux/types.h>
#include <linux/errno.h>
#include <asm/asm.h>

/* VMXON, VMCLEAR and VMPTRLD: one 64-bit physical-address operand. */
#define PVISOR_VMX_PHYS_INSN(name)					\
static __always_inline int pvisor_##name(u64 phys)			\
{									\
	asm goto("1: " #name " %[pa]\n\t"				\
		 "jna %l[fail]\n\t"					\
		 _ASM_EXTABLE(1b, %l[fault])				\
		 : : [pa] "m" (phys) : "cc", "memory" : fail, fault);	\
	return 0;							\
fail:									\
	return -EIO;							\
fault:									\
	return -EFAULT;							\
}

PVISOR_VMX_PHYS_INSN(vmxon)
PVISOR_VMX_PHYS_INSN(vmclear)
PVISOR_VMX_PHYS_INSN(vmptrld)

static __always_inline int pvisor_vmxoff(void)
{
	asm goto("1: vmxoff\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

/*
 * VMPTRST succeeds only in VMX root operation and raises #UD outside VMX
 * operation, so it tells whether this CPU really is in VMX root operation.
 */
static __always_inline int pvisor_vmptrst(u64 *phys)
{
	asm goto("1: vmptrst %[pa]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m" (*phys) : "memory" : fault);
	return 0;
fault:
	return -EFAULT;
}

/* Report a failed VMREAD or VMWRITE with the field, value and error. */
void pvisor_vmx_insn_failed(const char *insn, unsigned long field,
			    unsigned long value);

static __always_inline unsigned long pvisor_vmread(unsigned long field)
{
	unsigned long value;

	asm volatile("1: vmread %[field], %[value]\n\t"
		     "jna 2f\n\t"
		     "jmp 3f\n"
		     "2: xor %k[value], %k[value]\n\t"
		     "mov $1, %b[failed]\n"
		     "3:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [value] "=&r" (value), [failed] "=&q" (*(u8 *)&field)
		     : [field] "r" (field), "1" ((u8)0)
		     : "cc");
	return value;
}

static __always_inline void pvisor_vmwrite(unsigned long field,
					   unsigned long value)
{
	asm goto("1: vmwrite %[value], %[field]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [field] "r" (field), [value] "rm" (value)
		 : "cc" : fail);
	return;
fail:
	pvisor_vmx_insn_failed("vmwrite", field, value);
}

static __always_inline void pvisor_invvpid(unsigned long type, u16 vpid,
					   u64 gva)
{
	struct {
		u64 vpid;
		u64 gva;
	} desc = { vpid, gva };

	asm goto("1: invvpid %[desc], %[type]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [desc] "m" (desc), [type] "r" (type)
		 : "cc", "memory" : fail);
	return;
fail:
	pvisor_vmx_insn_failed("invvpid", type, vpid);
}

/*
 * Hand an NMI that caused a VM exit to the host's NMI handler, as if it had
 * arrived outside the guest.
 */
static __always_inline void pvisor_host_nmi(void)
{
	asm volatile("int $2" ::: "memory");
}

#endif /* PVISOR_VMX_OPS_H */
