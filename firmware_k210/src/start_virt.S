/* Reset code of the RV64 QEMU virt build: one hart, M-mode, no OpenSBI (-bios none). */
    .section .text.start, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, _estack
    la      t0, trap_entry
    csrw    mtvec, t0
    li      t0, 0x2000          /* mstatus.FS = Initial: enable the FPU */
    csrs    mstatus, t0
    fscsr   zero
    la      t0, _sbss
    la      t1, _ebss
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    main
    li      a0, 2
    call    board_fault
park:
    wfi
    j       park

    .align 4
trap_entry:
    csrr    a0, mcause
    call    board_trap
    j       park
