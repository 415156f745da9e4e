# PlatformIO extra_script of the real-board envs (firmware_stm32, firmware_k210, examples/*).
#   extra_scripts = pre:../firmware_common/pio/emc_board_flags.py
# 1. custom_float_abi_flags (e.g. -mfloat-abi=hard -mfpu=fpv4-sp-d16) reach the compiler, the
#    assembler AND the linker: build_flags alone do not reach the link, which then picks the
#    soft-float multilib (libc, libm, libgcc) and fails or silently builds a soft-float image.
#    Check the result: arm-none-eabi-readelf -A firmware.elf  ->  Tag_ABI_VFP_args: VFP registers
# 2. The memory report counts every RAM section: the big model/arena buffers live in .hilbufs
#    (ld/stm32_common.ld) and the stack reserve in ._user_heap_stack, which PlatformIO's default
#    RAM pattern (.data|.bss|.noinit) misses.
# python -m emc.boards reads the same options from platformio.ini (docs/boards.md).
Import("env")  # noqa: F821  (SCons)

flags = env.GetProjectOption("custom_float_abi_flags", "").split()  # noqa: F821
if flags:
    env.Append(CCFLAGS=flags, ASFLAGS=flags, LINKFLAGS=flags)  # noqa: F821
env.Replace(  # noqa: F821
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.text|\.rodata|\.data|\.ARM\.exidx|\.ARM\.extab|\.init_array|\.fini_array|\.preinit_array|\.srodata|\.sdata)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.sdata|\.bss|\.sbss|\.hilbufs|\.noinit|\._user_heap_stack|\.heap|\.stack)\s+(\d+).*",
)
