/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TEST_HARNESS_MAIN with one more option: "PROGRAM --list" prints the full
 * name of every test the program would run, one a line, in the form of the
 * harness's own "#  RUN  fixture.variant.test" lines, and runs none.
 *
 * The lab's runner (selftests/lab/run-lane) plans a lane from these lists
 * on the host before it boots, so that a test that never ran (a lane cut
 * short by its time limit, a panic, a crashed program) is counted as a
 * failure by name instead of going missing from the totals.
 *
 * Include it after kselftest_harness.h; pvisor_util.h does.
 */
#ifndef PVISOR_HARNESS_LIST_H
#define PVISOR_HARNESS_LIST_H

#include <stdio.h>
#include <string.h>

static inline int pvisor_harness_list(void)
{
	struct __fixture_variant_metadata no_variant = { .name = "", };
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (v = f->variant ?: &no_variant; v; v = v->next)
			for (t = f->tests; t; t = t->next)
				printf("%s%s%s.%s\n", f->name,
				       v->name[0] ? "." : "", v->name, t->name);
	return fflush(stdout) ? 1 : 0;
}

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN \
	static void __attribute__((constructor)) \
	__constructor_order_last(void) \
	{ \
		if (!__constructor_order) \
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	} \
	int main(int argc, char **argv) \
	{ \
		if (argc == 2 && !strcmp(argv[1], "--list")) \
			return pvisor_harness_list(); \
		return test_harness_run(argc, argv); \
	}

#endif /* PVISOR_HARNESS_LIST_H */
