/*
 * check.h: the smallest test harness that reports well.  Each test is a
 * function; CHECK records a failure with its line and keeps going, so one
 * run shows every broken expectation.  main() ends with RUN_SUMMARY().
 */
#ifndef CATSYNCFS_CHECK_H
#define CATSYNCFS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_tests_failed;
static int check_tests_run;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",         \
				__FILE__, __LINE__, #cond);                    \
			check_failures++;                                      \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                   \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) {    \
			fprintf(stderr, "  %s:%d: '%s' != '%s'\n", __FILE__,   \
				__LINE__, check_a_ ? check_a_ : "(null)",      \
				check_b_ ? check_b_ : "(null)");               \
			check_failures++;                                      \
		}                                                              \
	} while (0)

#define RUN(test)                                                              \
	do {                                                                   \
		int check_before_ = check_failures;                            \
		check_tests_run++;                                             \
		test();                                                        \
		if (check_failures != check_before_) {                         \
			check_tests_failed++;                                  \
			printf("not ok - %s\n", #test);                        \
		} else {                                                       \
			printf("ok - %s\n", #test);                            \
		}                                                              \
	} while (0)

#define RUN_SUMMARY()                                                          \
	(printf("%d passed, %d failed\n",                                      \
		check_tests_run - check_tests_failed, check_tests_failed),     \
	 check_tests_failed ? 1 : 0)

#endif
