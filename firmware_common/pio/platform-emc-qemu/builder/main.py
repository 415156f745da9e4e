# SCons build script of the local "emcqemu" PlatformIO platform: the EMC HIL firmware for QEMU with
# the system cross compilers. Option `custom_emc_target` = qemu-m4 | qemu-m7 | qemu-rv64 selects
# CPU flags, linker script and the board sources; the env's build_src_filter selects the common
# sources (firmware_common/src, runtime_c/...). `pio run -t upload` runs the ELF under QEMU with
# its serial port on a pty (connect: python -m emc.hil hello --port /dev/pts/N).
import os

from SCons.Script import Default, DefaultEnvironment

env = DefaultEnvironment()
target = env.GetProjectOption("custom_emc_target", "qemu-m4")
root = os.path.abspath(os.path.join(env.subst("$PROJECT_DIR"), ".."))

ARM = dict(prefix="arm-none-eabi-",
           qemu=["qemu-system-arm", "-semihosting-config", "enable=on,target=native"])
CONF = {
    "qemu-m4": dict(ARM, cpu=["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
                    ld="firmware_stm32/ld/mps2_an386.ld", machine="mps2-an386",
                    defines=[("MPS2_TARGET", '\\"qemu-m4\\"')],
                    libs=["--specs=nano.specs", "--specs=nosys.specs"]),
    "qemu-m7": dict(ARM, cpu=["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"],
                    ld="firmware_stm32/ld/mps2_an500.ld", machine="mps2-an500",
                    defines=[("MPS2_TARGET", '\\"qemu-m7\\"')],
                    libs=["--specs=nano.specs", "--specs=nosys.specs"]),
    "qemu-rv64": dict(prefix="riscv64-unknown-elf-", qemu=["qemu-system-riscv64", "-bios", "none", "-m", "128M"],
                      cpu=["-march=rv64imafdc", "-mabi=lp64d", "-mcmodel=medany"],
                      ld="firmware_k210/ld/virt.ld", machine="virt", defines=[],
                      libs=["--specs=picolibc.specs", "-Wl,--no-warn-rwx-segments"]),
}[target]
p = CONF["prefix"]

env.Replace(
    AR=p + "ar", AS=p + "gcc", CC=p + "gcc", CXX=p + "g++", GDB=p + "gdb", OBJCOPY=p + "objcopy",
    RANLIB=p + "ranlib", SIZETOOL=p + "size", PROGSUFFIX=".elf",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)
env.Append(
    ASFLAGS=CONF["cpu"],
    CCFLAGS=CONF["cpu"] + ["-O2", "-g", "-ffp-contract=off", "-ffunction-sections", "-fdata-sections",
                           "-fno-common", "-Wall"] + CONF["libs"][:1],
    CFLAGS=["-std=gnu99"],
    CPPDEFINES=CONF["defines"],
    CPPPATH=[os.path.join(root, "firmware_common", "include"), os.path.join(root, "runtime_c", "include"),
             os.path.join(root, "runtime_c", "src"), os.path.join(root, "runtime_c", "kernels")],
    LINKFLAGS=CONF["cpu"] + ["-O2", "-nostartfiles", "-Wl,--gc-sections", "-L" + os.path.join(root, os.path.dirname(CONF["ld"]))]
              + CONF["libs"],
    LIBS=["m"],
)
env.Replace(LDSCRIPT_PATH=os.path.join(root, CONF["ld"]))

program = env.BuildProgram()
size = env.AddPlatformTarget("size", program, env.VerboseAction("$SIZEPRINTCMD", "Program size"), "Program Size")
upload = env.AddPlatformTarget(
    "upload", program,
    env.VerboseAction(" ".join(CONF["qemu"] + ["-M", CONF["machine"], "-display", "none", "-monitor", "none",
                                               "-icount", "shift=0", "-serial", "pty", "-kernel", "$SOURCE"]),
                      "Running $SOURCE under QEMU (serial on the pty printed below; Ctrl-C to stop)"),
    "Run under QEMU")
Default([program])
