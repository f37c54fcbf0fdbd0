// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object and its fd: guest memory slots and vCPU creation.
 *
 * Guest memory is ordinary memory of the process that created the VM.  A
 * slot's pages are pinned when the slot is set and unpinned when it is
 * removed or the VM is freed, so the shadow MMU can map them without
 * faulting and without a reference per mapping.  VM ioctls run in process
 * context and may sleep; they are accepted only from the creating process.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pvisor.h"

static void free_slot(struct pvisor_memslot *slot)
{
	if (slot->pages) {
		unpin_user_pages_dirty_lock(slot->pages, slot->npages, true);
		kvfree(slot->pages);
	}
	kvfree(slot->rmap);
	memset(slot, 0, sizeof(*slot));
}

static void vm_release(struct kref *ref)
{
	struct pvisor_vm *vm = container_of(ref, struct pvisor_vm, ref);
	int i;

	pvisor_vm_mmu_zap_all(vm);
	for (i = 0; i < PVISOR_NR_MEMSLOTS; i++)
		free_slot(&vm->slots[i]);
	mmdrop(vm->mm);
	kfree(vm);
}

void pvisor_vm_get(struct pvisor_vm *vm)
{
	kref_get(&vm->ref);
}

void pvisor_vm_put(struct pvisor_vm *vm)
{
	kref_put(&vm->ref, vm_release);
}

/*
 * The host address of guest-physical @gpa, or NULL outside guest memory.
 * Callers hold slots_lock (the pages stay pinned meanwhile).
 */
void *pvisor_vm_gpa_to_hva(struct pvisor_vm *vm, u64 gpa, struct page **pagep)
{
	int i;

	for (i = 0; i < PVISOR_NR_MEMSLOTS; i++) {
		struct pvisor_memslot *slot = &vm->slots[i];
		u64 idx;
		struct page *page;

		if (gpa < slot->gpa)
			continue;
		idx = (gpa - slot->gpa) >> PAGE_SHIFT;
		if (idx >= slot->npages)
			continue;
		page = slot->pages[idx];
		if (pagep)
			*pagep = page;
		return page_address(page) + offset_in_page(gpa);
	}
	return NULL;
}

/*
 * Copy @len bytes to guest-physical @gpa, page by page.  Returns -EFAULT,
 * having copied nothing, if any of the range is outside guest memory.
 * Callers hold slots_lock.
 */
int pvisor_write_guest(struct pvisor_vm *vm, u64 gpa, const void *src,
		       size_t len)
{
	u64 p;

	if (gpa + len < gpa)
		return -EFAULT;
	for (p = gpa & PAGE_MASK; p < gpa + len; p += PAGE_SIZE)
		if (!pvisor_vm_gpa_to_hva(vm, p, NULL))
			return -EFAULT;
	while (len) {
		size_t chunk = min_t(size_t, len, PAGE_SIZE - offset_in_page(gpa));

		memcpy(pvisor_vm_gpa_to_hva(vm, gpa, NULL), src, chunk);
		gpa += chunk;
		src += chunk;
		len -= chunk;
	}
	return 0;
}

u64 pvisor_vm_mem_size(struct pvisor_vm *vm)
{
	u64 pages = 0;
	int i;

	for (i = 0; i < PVISOR_NR_MEMSLOTS; i++)
		pages += vm->slots[i].npages;
	return pages << PAGE_SHIFT;
}

static bool region_is_valid(const struct pvisor_memory_region *r)
{
	u64 end = r->guest_phys_addr + r->memory_size;
	int i;

	if (r->flags || r->slot >= PVISOR_NR_MEMSLOTS)
		return false;
	for (i = 0; i < ARRAY_SIZE(r->reserved); i++)
		if (r->reserved[i])
			return false;
	if (!PAGE_ALIGNED(r->guest_phys_addr) ||
	    !PAGE_ALIGNED(r->memory_size) || !PAGE_ALIGNED(r->userspace_addr))
		return false;
	if (!r->memory_size)
		return true;
	if (end < r->guest_phys_addr || end > BIT_ULL(PVISOR_GPA_BITS))
		return false;
	if (r->userspace_addr + r->memory_size < r->userspace_addr ||
	    !access_ok(u64_to_user_ptr(r->userspace_addr), r->memory_size))
		return false;
	return true;
}

static bool region_overlaps(struct pvisor_vm *vm,
			    const struct pvisor_memory_region *r)
{
	u64 start = r->guest_phys_addr, end = start + r->memory_size;
	int i;

	for (i = 0; i < PVISOR_NR_MEMSLOTS; i++) {
		struct pvisor_memslot *s = &vm->slots[i];

		if (i == r->slot || !s->npages)
			continue;
		if (start < s->gpa + (s->npages << PAGE_SHIFT) && s->gpa < end)
			return true;
	}
	return false;
}

static int pin_slot(struct pvisor_memslot *slot,
		    const struct pvisor_memory_region *r)
{
	u64 npages = r->memory_size >> PAGE_SHIFT, done = 0;
	struct page **pages;
	long n;

	if (npages > INT_MAX)
		return -EINVAL;
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;
	slot->rmap = kvcalloc(npages, sizeof(*slot->rmap), GFP_KERNEL_ACCOUNT);
	if (!slot->rmap) {
		kvfree(pages);
		return -ENOMEM;
	}
	while (done < npages) {
		n = pin_user_pages_fast(r->userspace_addr + (done << PAGE_SHIFT),
					min_t(u64, npages - done, 1024),
					FOLL_WRITE | FOLL_LONGTERM,
					pages + done);
		if (n <= 0) {
			unpin_user_pages(pages, done);
			kvfree(pages);
			kvfree(slot->rmap);
			slot->rmap = NULL;
			return n ? n : -EFAULT;
		}
		done += n;
	}
	slot->gpa = r->guest_phys_addr;
	slot->npages = npages;
	slot->uaddr = r->userspace_addr;
	slot->pages = pages;
	return 0;
}

static int vm_set_memory_region(struct pvisor_vm *vm, void __user *argp)
{
	struct pvisor_memory_region r;
	struct pvisor_memslot new = {}, old;
	int ret;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (!region_is_valid(&r))
		return -EINVAL;
	if (!down_write_trylock(&vm->slots_lock))
		return -EBUSY;

	ret = -EINVAL;
	if (region_overlaps(vm, &r))
		goto out_unlock;
	if (r.memory_size) {
		ret = pin_slot(&new, &r);
		if (ret)
			goto out_unlock;
	}
	old = vm->slots[r.slot];
	vm->slots[r.slot] = new;
	/* No vCPU runs: drop every shadow mapping of the old pages. */
	pvisor_vm_mmu_zap_all(vm);
	free_slot(&old);
	ret = 0;
out_unlock:
	up_write(&vm->slots_lock);
	return ret;
}

static int vm_create_vcpu(struct pvisor_vm *vm, unsigned long id)
{
	int ret;

	if (id >= PVISOR_MAX_VCPUS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	ret = pvisor_vcpu_create_fd(vm, id);
	mutex_unlock(&vm->lock);
	return ret;
}

/* PVISOR_GET_VM_STATS: the VM's counters, and each channel's by id. */
static int vm_get_stats(struct pvisor_vm *vm, void __user *argp)
{
	struct pvisor_vm_stats *st;
	int i, ret = 0;

	BUILD_BUG_ON(PVISOR_STATS_CHANNELS < PVISOR_MAX_CHANNELS);
	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st)
		return -ENOMEM;
	down_read(&vm->slots_lock);
	st->mem_bytes = pvisor_vm_mem_size(vm);
	up_read(&vm->slots_lock);
	/* vm->lock keeps vCPUs and channels from going away meanwhile. */
	mutex_lock(&vm->lock);
	for (i = 0; i < PVISOR_MAX_VCPUS; i++) {
		struct pvisor_vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		st->nr_vcpus++;
		st->exits += READ_ONCE(vcpu->stat_exits);
		st->halts += READ_ONCE(vcpu->stat_halts);
		st->irqs += READ_ONCE(vcpu->stat_irqs);
	}
	for (i = 0; i < PVISOR_MAX_CHANNELS; i++)
		if (vm->channels[i])
			pvisor_channel_fill_stats(vm->channels[i],
						  &st->channels[st->nr_channels++]);
	mutex_unlock(&vm->lock);
	if (copy_to_user(argp, st, sizeof(*st)))
		ret = -EFAULT;
	kfree(st);
	return ret;
}

static long pvisor_vm_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	struct pvisor_vm *vm = filp->private_data;

	if (vm->mm != current->mm)
		return -EIO;
	if (READ_ONCE(vm->dead))
		return -EIO;

	switch (cmd) {
	case PVISOR_SET_MEMORY_REGION:
		return vm_set_memory_region(vm, (void __user *)arg);
	case PVISOR_CREATE_VCPU:
		return vm_create_vcpu(vm, arg);
	case PVISOR_CREATE_CHANNEL:
		return pvisor_channel_create(vm, (void __user *)arg);
	case PVISOR_GET_VM_STATS:
		return vm_get_stats(vm, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

/*
 * The VM fd or a vCPU fd is gone.  When the last is, no vCPU can run
 * again: the channels' serving threads return.
 */
void pvisor_vm_put_user(struct pvisor_vm *vm)
{
	if (atomic_dec_and_test(&vm->users))
		pvisor_channels_wake_all(vm);
}

static int pvisor_vm_release(struct inode *inode, struct file *filp)
{
	struct pvisor_vm *vm = filp->private_data;

	pvisor_vm_put_user(vm);
	pvisor_vm_put(vm);
	return 0;
}

static const struct file_operations pvisor_vm_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= pvisor_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.release	= pvisor_vm_release,
	.llseek		= noop_llseek,
};

int pvisor_vm_create_fd(void)
{
	struct pvisor_vm *vm;
	int fd;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	kref_init(&vm->ref);
	atomic_set(&vm->users, 1);
	init_rwsem(&vm->slots_lock);
	mutex_init(&vm->lock);
	pvisor_vm_mmu_init(vm);
	mmgrab(current->mm);
	vm->mm = current->mm;

	fd = anon_inode_getfd("pvisor-vm", &pvisor_vm_fops, vm,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0)
		pvisor_vm_put(vm);
	return fd;
}

/*
 * Kill the VM of @vcpu: a guest did something pvisor refuses.  The reason
 * goes to the vCPU's run structure; every later ioctl on the VM returns
 * -EIO.  Returns PVISOR_TO_USER for the exit handler to pass on.
 */
int pvisor_vm_kill(struct pvisor_vcpu *vcpu, u32 reason, u64 data)
{
	struct pvisor_run *run = vcpu->run;

	pvisor_vm_kill_async(vcpu->vm, reason, data);
	memset(&run->killed, 0, sizeof(run->killed));
	run->exit_reason = PVISOR_EXIT_KILLED;
	run->killed.reason = reason;
	run->killed.vmx_exit_reason = vcpu->exit_reason;
	run->killed.qualification = vcpu->exit_qual;
	run->killed.data = data;
	return PVISOR_TO_USER;
}

/*
 * Kill @vm from any context but NMI: a channel's serving thread found a
 * malformed ring, or a vCPU broke a rule.  The first reason sticks.  Every
 * vCPU leaves guest mode (or HLT) and returns PVISOR_EXIT_KILLED with it;
 * every serving thread returns -EIO.
 */
void pvisor_vm_kill_async(struct pvisor_vm *vm, u32 reason, u64 data)
{
	if (!cmpxchg(&vm->kill_reason, 0, reason))
		WRITE_ONCE(vm->kill_data, data);
	/* The reason before @dead, for vCPUs that see @dead. */
	smp_wmb();
	WRITE_ONCE(vm->dead, true);
	pvisor_kick_all(vm);
	pvisor_channels_wake_all(vm);
}
