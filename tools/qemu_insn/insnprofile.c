/* QEMU TCG plugin (API v1, QEMU 7.2): how many times each guest instruction executed between two
 * marker PCs (the firmware's prof_begin / prof_end around an invoke), for finding where a kernel's
 * instructions go; tools/qemu_insn/profile.py maps the addresses to functions and lines.
 *   -plugin ./libinsnprofile.so,begin=0x2c8,end=0x2f0,out=/tmp/prof.txt
 * At exit writes "0xPC count" for every instruction counted. Without begin/end: everything. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define SLOTS (1u << 20) /* open addressing; a firmware has far fewer distinct instructions */
typedef struct { uint64_t pc, count; int used; } slot_t;
typedef struct { size_t n; uint64_t *count[]; } tb_info_t;
static slot_t *table;
static char out_path[512] = "insnprofile.txt";
static uint64_t begin_pc = UINT64_MAX, end_pc = UINT64_MAX;
static int in_region;

static slot_t *slot_for(uint64_t pc) {
    uint32_t h = (uint32_t)((pc >> 1) * 2654435761u) & (SLOTS - 1);
    while (table[h].used && table[h].pc != pc) h = (h + 1) & (SLOTS - 1);
    table[h].used = 1;
    table[h].pc = pc;
    return &table[h];
}
static void on_tb(unsigned int cpu, void *udata) {
    (void)cpu;
    if (!in_region) return;
    tb_info_t *t = udata;
    for (size_t i = 0; i < t->n; i++) (*t->count[i])++;
}
static void on_marker(unsigned int cpu, void *udata) { (void)cpu; in_region = (uintptr_t)udata == 1; }
static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    tb_info_t *t = malloc(sizeof *t + n * sizeof t->count[0]); /* lives as long as the translation */
    if (!t) return;
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        t->count[i] = &slot_for(pc)->count;
        if (pc == begin_pc) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, (void *)1);
        if (pc == end_pc)   qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, (void *)2);
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb, QEMU_PLUGIN_CB_NO_REGS, t);
}
static void at_exit(qemu_plugin_id_t id, void *p) {
    (void)id; (void)p;
    FILE *f = fopen(out_path, "w");
    if (!f) return;
    for (uint32_t i = 0; i < SLOTS; i++)
        if (table[i].used && table[i].count) fprintf(f, "0x%" PRIx64 " %" PRIu64 "\n", table[i].pc, table[i].count);
    fclose(f);
}
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4)) snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
        else if (!strncmp(argv[i], "begin=", 6)) begin_pc = strtoull(argv[i] + 6, NULL, 0) & ~1ull;
        else if (!strncmp(argv[i], "end=", 4)) end_pc = strtoull(argv[i] + 4, NULL, 0) & ~1ull;
        else { fprintf(stderr, "insnprofile: bad arg %s\n", argv[i]); return -1; }
    }
    in_region = begin_pc == UINT64_MAX;
    table = calloc(SLOTS, sizeof *table);
    if (!table) return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
