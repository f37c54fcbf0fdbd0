// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU object and its fd: register ioctls, the shared run structure,
 * and the run loop.
 *
 * A vCPU is run by the thread that calls PVISOR_RUN, so the scheduler,
 * cgroups and signals treat it as any task.  The loop enters the guest with
 * preemption and interrupts disabled, handles the exit with preemption
 * still disabled (the VMCS is per CPU), and between entries reschedules,
 * refills the shadow page cache, sleeps on HLT and returns -EINTR for a
 * pending signal.  vcpu->mutex makes the vCPU's ioctls one at a time.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>

#include "pvisor.h"
#include "vmx.h"

/* Another vCPU or a channel killed the VM: say why, and stop. */
static int vcpu_killed(struct pvisor_vcpu *vcpu)
{
	struct pvisor_run *run = vcpu->run;
	struct pvisor_vm *vm = vcpu->vm;

	/* Pairs with the barrier in pvisor_vm_kill_async(). */
	smp_rmb();
	memset(&run->killed, 0, sizeof(run->killed));
	run->exit_reason = PVISOR_EXIT_KILLED;
	run->killed.reason = READ_ONCE(vm->kill_reason);
	run->killed.data = READ_ONCE(vm->kill_data);
	return PVISOR_TO_USER;
}

static int vcpu_run_loop(struct pvisor_vcpu *vcpu)
{
	struct pvisor_run *run = vcpu->run;
	int ret;

	for (;;) {
		if (READ_ONCE(vcpu->vm->dead))
			return vcpu_killed(vcpu);
		if (signal_pending(current) || READ_ONCE(run->immediate_exit)) {
			run->exit_reason = PVISOR_EXIT_INTR;
			return -EINTR;
		}
		cond_resched();

		preempt_disable();
		ret = pvisor_vmx_vcpu_load(vcpu);
		if (ret) {
			preempt_enable();
			return ret;
		}
		if (pvisor_mmu_load_root(vcpu) == PVISOR_TOPUP) {
			preempt_enable();
			ret = pvisor_mmu_topup(vcpu);
			if (ret)
				return ret;
			continue;
		}
		local_irq_disable();
		if (need_resched() || signal_pending(current) ||
		    READ_ONCE(run->immediate_exit) ||
		    READ_ONCE(vcpu->vm->dead)) {
			local_irq_enable();
			preempt_enable();
			continue;
		}
		/*
		 * A context switch since the last entry (HLT, a refill,
		 * cond_resched) saved the guest's FPU registers to its
		 * fpstate and left others in the CPU: load them back.
		 */
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		pvisor_mmu_before_entry(vcpu);
		/*
		 * Guest mode is a quiescent state for RCU, as userspace is
		 * (KVM does the same): without this a guest that never
		 * leaves its CPU holds up every grace period until the
		 * scheduler preempts it, and with it whoever waits for one
		 * (a cgroup migration, a module unload) on that CPU.
		 */
		rcu_virt_note_context_switch(smp_processor_id());
		pvisor_vmx_enter(vcpu);
		WRITE_ONCE(vcpu->mmu.in_guest, false);
		local_irq_enable();
		ret = pvisor_vmx_handle_exit(vcpu);
		preempt_enable();

		switch (ret) {
		case PVISOR_RESUME:
			break;
		case PVISOR_HALT:
			pvisor_halt(vcpu);
			break;
		case PVISOR_TOPUP:
			ret = pvisor_mmu_topup(vcpu);
			if (ret)
				return ret;
			break;
		default:
			return ret;
		}
	}
}

static int vcpu_run(struct pvisor_vcpu *vcpu)
{
	struct pvisor_vm *vm = vcpu->vm;
	int ret;

	if (vcpu->shutdown) {
		vcpu->run->exit_reason = PVISOR_EXIT_SHUTDOWN;
		vcpu->run->shutdown.status = vcpu->shutdown_status;
		return 0;
	}
	vcpu->run->exit_reason = PVISOR_EXIT_NONE;

	down_read(&vm->slots_lock);
	ret = pvisor_mmu_topup(vcpu);
	if (ret)
		goto out_unlock;
	fpu_swap_kvm_fpstate(&vcpu->fpu, true);
	pvisor_vmx_run_begin(vcpu);
	ret = vcpu_run_loop(vcpu);
	pvisor_vmx_run_end(vcpu);
	fpu_swap_kvm_fpstate(&vcpu->fpu, false);
out_unlock:
	up_read(&vm->slots_lock);
	return ret;
}

/* Run @fn with the VMCS loaded on this CPU. */
static int with_vmcs(struct pvisor_vcpu *vcpu,
		     int (*fn)(struct pvisor_vcpu *vcpu, void *arg), void *arg)
{
	int ret;

	preempt_disable();
	ret = pvisor_vmx_vcpu_load(vcpu);
	if (!ret)
		ret = fn(vcpu, arg);
	preempt_enable();
	return ret;
}

static int get_regs(struct pvisor_vcpu *vcpu, void *r)
{
	pvisor_vmx_get_regs(vcpu, r);
	return 0;
}

static int set_regs(struct pvisor_vcpu *vcpu, void *r)
{
	return pvisor_vmx_set_regs(vcpu, r);
}

static int get_sregs(struct pvisor_vcpu *vcpu, void *s)
{
	pvisor_vmx_get_sregs(vcpu, s);
	return 0;
}

static int set_sregs(struct pvisor_vcpu *vcpu, void *s)
{
	return pvisor_vmx_set_sregs(vcpu, s);
}

static long vcpu_ioctl_locked(struct pvisor_vcpu *vcpu, unsigned int cmd,
			      void __user *argp)
{
	struct pvisor_sregs sregs;
	struct pvisor_regs regs;
	int ret;

	switch (cmd) {
	case PVISOR_RUN:
		if (argp)
			return -EINVAL;
		return vcpu_run(vcpu);
	case PVISOR_GET_REGS:
		ret = with_vmcs(vcpu, get_regs, &regs);
		if (!ret && copy_to_user(argp, &regs, sizeof(regs)))
			ret = -EFAULT;
		return ret;
	case PVISOR_SET_REGS:
		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		return with_vmcs(vcpu, set_regs, &regs);
	case PVISOR_GET_SREGS:
		ret = with_vmcs(vcpu, get_sregs, &sregs);
		if (!ret && copy_to_user(argp, &sregs, sizeof(sregs)))
			ret = -EFAULT;
		return ret;
	case PVISOR_SET_SREGS:
		if (copy_from_user(&sregs, argp, sizeof(sregs)))
			return -EFAULT;
		/* The shadow is rebuilt from the new CR3: hold the slots. */
		down_read(&vcpu->vm->slots_lock);
		ret = with_vmcs(vcpu, set_sregs, &sregs);
		up_read(&vcpu->vm->slots_lock);
		return ret;
	default:
		return -ENOTTY;
	}
}

static long pvisor_vcpu_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	struct pvisor_vcpu *vcpu = filp->private_data;
	long ret;

	if (vcpu->vm->mm != current->mm || READ_ONCE(vcpu->vm->dead))
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	ret = vcpu_ioctl_locked(vcpu, cmd, (void __user *)arg);
	mutex_unlock(&vcpu->mutex);
	return ret;
}

static int pvisor_vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct pvisor_vcpu *vcpu = filp->private_data;

	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	return vm_insert_page(vma, vma->vm_start, virt_to_page(vcpu->run));
}

void pvisor_vcpu_destroy(struct pvisor_vcpu *vcpu)
{
	pvisor_events_destroy(vcpu);
	pvisor_vmx_vcpu_free(vcpu);
	pvisor_mmu_destroy(vcpu);
	if (vcpu->fpu.fpstate)
		fpu_free_guest_fpstate(&vcpu->fpu);
	free_page((unsigned long)vcpu->run);
	pvisor_vm_put(vcpu->vm);
	kfree(vcpu);
}

static int pvisor_vcpu_release(struct inode *inode, struct file *filp)
{
	struct pvisor_vcpu *vcpu = filp->private_data;
	struct pvisor_vm *vm = vcpu->vm;

	mutex_lock(&vm->lock);
	WRITE_ONCE(vm->vcpus[vcpu->id], NULL);
	mutex_unlock(&vm->lock);
	/* An IPI from another vCPU may still be raising interrupts here. */
	synchronize_rcu();
	pvisor_vm_put_user(vm);
	pvisor_vcpu_destroy(vcpu);
	return 0;
}

static const struct file_operations pvisor_vcpu_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= pvisor_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= pvisor_vcpu_mmap,
	.release	= pvisor_vcpu_release,
	.llseek		= noop_llseek,
};

/* Called with vm->lock held. */
int pvisor_vcpu_create_fd(struct pvisor_vm *vm, unsigned long id)
{
	struct pvisor_vcpu *vcpu;
	int ret, fd;

	if (vm->vcpus[id])
		return -EEXIST;
	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	mutex_init(&vcpu->mutex);
	pvisor_events_init(vcpu);
	pvisor_vm_get(vm);

	ret = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !fpu_alloc_guest_fpstate(&vcpu->fpu))
		goto out_destroy;
	ret = pvisor_mmu_init(vcpu);
	if (ret)
		goto out_destroy;
	ret = pvisor_vmx_vcpu_init(vcpu);
	if (ret)
		goto out_destroy;

	/* Counted before the fd exists: its release drops it. */
	atomic_inc(&vm->users);
	fd = anon_inode_getfd("pvisor-vcpu", &pvisor_vcpu_fops, vcpu,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		/* The caller's VM fd still counts: not the last. */
		atomic_dec(&vm->users);
		ret = fd;
		goto out_destroy;
	}
	/* Initialized before IPIs can find it. */
	smp_store_release(&vm->vcpus[id], vcpu);
	return fd;

out_destroy:
	pvisor_vcpu_destroy(vcpu);
	return ret;
}
