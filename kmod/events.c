// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual interrupts: a vCPU has a set of pending vectors (32-255), raised
 * from any context (its one-shot timer, later its devices and other
 * vCPUs) and delivered through the guest's IDT by VM-entry event
 * injection (vmx.c) when the guest can take one, with interrupt-window
 * exiting when it cannot yet.  Raising a vector wakes the vCPU from HLT
 * and makes it leave guest mode, so it is delivered at once.
 *
 * There is no interrupt controller to emulate: no EOI, no priority
 * register, no in-service state.  A vector raised again before its
 * delivery is delivered once, as an edge interrupt would be.
 */
#include <linux/bitmap.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/nospec.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/wait.h>
#include <linux/pvisor_para.h>

#include "pvisor.h"

/* Make @vcpu notice new pending work: wake it, or make it exit. */
static void kick(struct pvisor_vcpu *vcpu)
{
	int cpu, me;

	wake_up_interruptible(&vcpu->wq);
	/* Pairs with the barrier in pvisor_mmu_before_entry(). */
	smp_mb();
	me = get_cpu();
	cpu = READ_ONCE(vcpu->cpu);
	if (READ_ONCE(vcpu->mmu.in_guest) && cpu >= 0 && cpu != me)
		smp_send_reschedule(cpu);
	put_cpu();
}

void pvisor_raise_irq(struct pvisor_vcpu *vcpu, unsigned int vector)
{
	if (WARN_ON_ONCE(vector < PVISOR_IRQ_VECTOR_MIN || vector > 255))
		return;
	set_bit(vector, vcpu->irq_pending);
	kick(vcpu);
}

static enum hrtimer_restart timer_fired(struct hrtimer *timer)
{
	struct pvisor_vcpu *vcpu = container_of(timer, struct pvisor_vcpu,
						timer);

	pvisor_raise_irq(vcpu, READ_ONCE(vcpu->timer_vector));
	return HRTIMER_NORESTART;
}

void pvisor_events_init(struct pvisor_vcpu *vcpu)
{
	hrtimer_init(&vcpu->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	vcpu->timer.function = timer_fired;
	init_waitqueue_head(&vcpu->wq);
}

void pvisor_events_destroy(struct pvisor_vcpu *vcpu)
{
	if (vcpu->timer.function)
		hrtimer_cancel(&vcpu->timer);
}

/* PVISOR_HC_SET_TIMER(@ns, @vector); @ns 0 cancels. */
long pvisor_hc_set_timer(struct pvisor_vcpu *vcpu, u64 ns, u64 vector)
{
	if (vector < PVISOR_IRQ_VECTOR_MIN || vector > 255 || ns > KTIME_MAX)
		return -PVISOR_EINVAL;
	hrtimer_cancel(&vcpu->timer);
	if (!ns)
		return 0;
	WRITE_ONCE(vcpu->timer_vector, vector);
	hrtimer_start(&vcpu->timer, ns_to_ktime(ns), HRTIMER_MODE_REL_HARD);
	return 0;
}

/*
 * Raise @vector (already checked) on vCPU @id of @vm, from any context.
 * Returns false if there is no such vCPU.
 */
bool pvisor_raise_irq_id(struct pvisor_vm *vm, u64 id, unsigned int vector)
{
	struct pvisor_vcpu *target;

	if (id >= PVISOR_MAX_VCPUS)
		return false;
	id = array_index_nospec(id, PVISOR_MAX_VCPUS);
	rcu_read_lock();
	target = READ_ONCE(vm->vcpus[id]);
	if (target)
		pvisor_raise_irq(target, vector);
	rcu_read_unlock();
	return target;
}

/* Make every vCPU of @vm look at its state again (the VM died). */
void pvisor_kick_all(struct pvisor_vm *vm)
{
	int i;

	rcu_read_lock();
	for (i = 0; i < PVISOR_MAX_VCPUS; i++) {
		struct pvisor_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);

		if (vcpu)
			kick(vcpu);
	}
	rcu_read_unlock();
}

/* PVISOR_HC_SEND_IPI(@id, @vector): raise @vector on vCPU @id. */
long pvisor_hc_send_ipi(struct pvisor_vcpu *vcpu, u64 id, u64 vector)
{
	if (vector < PVISOR_IRQ_VECTOR_MIN || vector > 255)
		return -PVISOR_EINVAL;
	return pvisor_raise_irq_id(vcpu->vm, id, vector) ? 0 : -PVISOR_EINVAL;
}

/*
 * HLT: sleep until an interrupt can be delivered, as the CPU would wait,
 * or until a signal for the launcher or the VM's death.  With RFLAGS.IF
 * clear, only those end it.  The thread sleeps: an idle guest costs no host CPU.
 */
void pvisor_halt(struct pvisor_vcpu *vcpu)
{
	wait_event_interruptible(vcpu->wq, (vcpu->halt_if &&
					    pvisor_irq_pending(vcpu)) ||
				 READ_ONCE(vcpu->vm->dead));
}
