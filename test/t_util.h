/* Shared by the unit tests: agent.c is included whole (its functions are all static), main renamed.
 * Each check prints "ok - NAME" or "not ok - NAME" with details, a check that cannot run here "ok - NAME # SKIP
 * why" (T_SKIP: what this machine lacks, a data folder, never a program .ci/run installs); t_done() gives the
 * exit status. */
#define AGENT_TEST
#include "../agent.c"
#undef main

static int t_failed;

#define T_CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); printf(__VA_ARGS__); printf("\n"); } \
	else { t_failed++; printf("not ok - "); printf(__VA_ARGS__); printf("  (%s:%d: %s)\n", __FILE__, __LINE__, #cond); } \
	fflush(stdout); \
} while (0)

/* T_SKIP(name, why format, ...) */
#define T_SKIP(name, ...) do { \
	printf("ok - %s # SKIP ", name); printf(__VA_ARGS__); printf("\n"); \
	fflush(stdout); \
} while (0)

static int
t_done(void)
{
	return t_failed ? 1 : 0;
}

/* Deterministic pseudo-random split points; the seed is printed with any failure by the caller. */
static unsigned t_seed = 12345;
static unsigned t_rand(void) __attribute__((unused));
static unsigned
t_rand(void)
{
	t_seed = t_seed * 1103515245u + 12345u;
	return (t_seed >> 16) & 0x7fff;
}
