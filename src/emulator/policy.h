/* policy.h - the emulator's stand-in for compiling and running a policy. */
#ifndef EMU_POLICY_H
#define EMU_POLICY_H

#include <stddef.h>

/*
 * 0 if @policy "compiles" (its brackets balance, outside double-quoted
 * strings and # comments), else -EINVAL with a message such as
 * "policy does not compile: unbalanced '{' at line 3" in @msg.
 */
int policy_check(const char *policy, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/*
 * The string a refresh returns: a JSON summary of what the policy would
 * match, derived only from its text so it is deterministic. malloc'd, or
 * NULL on ENOMEM.
 */
char *policy_run(const char *sync_id, const char *destination_type,
		 const char *policy);

#endif
