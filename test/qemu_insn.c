/* qemu_insn.c: a qemu-user TCG plugin that counts the guest instructions a program executes, for
 * test/bench_compare.sh (valgrind cannot run foreign binaries; this gives the same kind of figure under qemu).
 *
 *   gcc -shared -fPIC -O2 -o libinsn.so test/qemu_insn.c
 *   qemu-aarch64 -plugin ./libinsn.so,out=FILE build/cross/agent-aarch64 ...
 *
 * At exit it writes "insns N" to FILE (or stderr). It needs a qemu built with plugin support: Debian's
 * qemu-user has it, qemu-user-static does not. The few declarations below are those of QEMU's plugin API
 * version 1 (qemu 4.2 to 8.x, include/qemu/qemu-plugin.h), so no qemu headers need to be installed. Each
 * translated block adds its instruction count to one counter when it runs (an inline add, no callback):
 * one guest thread, as agent has, so the counter needs no atomics. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;        /* only passed through */
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

EXPORT int qemu_plugin_version = 1;

static uint64_t insns;
static char out[4096];

static void
on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns, qemu_plugin_tb_n_insns(tb));
}

static void
on_end(qemu_plugin_id_t id, void *p)
{
	FILE *f = out[0] ? fopen(out, "w") : NULL;
	fprintf(f ? f : stderr, "insns %llu\n", (unsigned long long)insns);
	if (f)
		fclose(f);
}

EXPORT int
qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	int i;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0 && strlen(argv[i] + 4) < sizeof out) {
			memcpy(out, argv[i] + 4, strlen(argv[i] + 4) + 1);
		} else {
			fprintf(stderr, "qemu_insn: unknown argument %s (known: out=FILE)\n", argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_end, NULL);
	return 0;
}
