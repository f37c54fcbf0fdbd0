// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercall dispatch (Documentation/hypercalls.rst).  The guest's VMCALL at
 * CPL 0 arrives here with the number in RAX and arguments in RDI, RSI, RDX,
 * R10, R8, R9; the result goes to RAX.  Each argument is read once, and
 * every guest-physical range is checked page by page against the memory
 * slots before it is touched.
 *
 * Context: a VM exit handler (preemption disabled, may not sleep), with
 * slots_lock held for reading and the instruction already skipped.
 */
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/pvisor_para.h>

#include "pvisor.h"

static long hc_console_write(struct pvisor_vcpu *vcpu, u64 gpa, u64 len)
{
	struct pvisor_run *run = vcpu->run;
	u64 done = 0;

	if (len > PVISOR_CONSOLE_WRITE_MAX)
		len = PVISOR_CONSOLE_WRITE_MAX;
	if (gpa + len < gpa)
		return -PVISOR_EFAULT;
	while (done < len) {
		u64 chunk = min(len - done, PAGE_SIZE - offset_in_page(gpa + done));
		void *src = pvisor_vm_gpa_to_hva(vcpu->vm, gpa + done, NULL);

		if (!src)
			return -PVISOR_EFAULT;
		memcpy(run->console.data + done, src, chunk);
		done += chunk;
	}
	run->console.len = len;
	run->exit_reason = PVISOR_EXIT_CONSOLE;
	return len;
}

static long hc_get_info(struct pvisor_vcpu *vcpu, u64 what)
{
	switch (what) {
	case PVISOR_INFO_MEM_SIZE:
		return pvisor_vm_mem_size(vcpu->vm);
	case PVISOR_INFO_VCPU_ID:
		return vcpu->id;
	case PVISOR_INFO_VERSION:
		return PVISOR_PARA_VERSION;
	case PVISOR_INFO_CLOCK_NS:
		return ktime_get_ns();
	default:
		return -PVISOR_EINVAL;
	}
}

int pvisor_hc_dispatch(struct pvisor_vcpu *vcpu)
{
	unsigned long *regs = vcpu->regs;
	u64 nr = regs[PVISOR_RAX], a0 = regs[PVISOR_RDI], a1 = regs[PVISOR_RSI];
	u64 a2 = regs[PVISOR_RDX], a3 = regs[PVISOR_R10], a4 = regs[PVISOR_R8];
	long ret;

	switch (nr) {
	case PVISOR_HC_NOP:
		ret = 0;
		break;
	case PVISOR_HC_CONSOLE_WRITE:
		ret = hc_console_write(vcpu, a0, a1);
		regs[PVISOR_RAX] = ret;
		/* Output goes to userspace; errors go back to the guest. */
		return ret >= 0 ? PVISOR_TO_USER : PVISOR_RESUME;
	case PVISOR_HC_SHUTDOWN:
		vcpu->shutdown = true;
		vcpu->shutdown_status = a0;
		vcpu->run->exit_reason = PVISOR_EXIT_SHUTDOWN;
		vcpu->run->shutdown.status = a0;
		return PVISOR_TO_USER;
	case PVISOR_HC_GET_INFO:
		ret = hc_get_info(vcpu, a0);
		break;
	case PVISOR_HC_MMU_BATCH:
		ret = pvisor_mmu_batch(vcpu, a0, a1);
		break;
	case PVISOR_HC_SET_TIMER:
		ret = pvisor_hc_set_timer(vcpu, a0, a1);
		break;
	case PVISOR_HC_SEND_IPI:
		ret = pvisor_hc_send_ipi(vcpu, a0, a1);
		break;
	case PVISOR_HC_CHAN_INFO:
		ret = pvisor_hc_chan_info(vcpu, a0, a1);
		break;
	case PVISOR_HC_CHAN_SETUP:
		ret = pvisor_hc_chan_setup(vcpu, a0, a1, a2, a3, a4);
		break;
	case PVISOR_HC_CHAN_NOTIFY:
		ret = pvisor_hc_chan_notify(vcpu, a0, a1);
		break;
	default:
		ret = -PVISOR_ENOSYS;
		break;
	}
	regs[PVISOR_RAX] = ret;
	return PVISOR_RESUME;
}
