# Sources shared by every HIL firmware build (included by firmware_*/Makefile and firmware_common/Makefile).
# Needs EMC_ROOT (repository root). Sets HIL_SRCS, HIL_CPPFLAGS, HIL_CFLAGS, RUNTIME_KIND.
# A target adds its runtime port sources itself (runtime_c/ports/<port>/*.c).
#   RUNTIME=auto (default): the real runtime when runtime_c/src has sources, else the stub
#   RUNTIME=real | stub
FWC := $(EMC_ROOT)/firmware_common
RUNTIME ?= auto
RT_SRCS := $(sort $(wildcard $(EMC_ROOT)/runtime_c/src/*.c) $(wildcard $(EMC_ROOT)/runtime_c/kernels/*.c) \
             $(wildcard $(EMC_ROOT)/runtime_c/kernels/*/*.c))
ifeq ($(RUNTIME),auto)
  RUNTIME_KIND := $(if $(RT_SRCS),real,stub)
else
  RUNTIME_KIND := $(RUNTIME)
endif
HIL_SRCS := $(FWC)/src/hil.c $(FWC)/src/hil_crc32.c
HIL_CPPFLAGS := -I$(FWC)/include -I$(EMC_ROOT)/runtime_c/include
ifeq ($(RUNTIME_KIND),stub)
  HIL_SRCS += $(FWC)/stub/emc_runtime_stub.c
  HIL_CPPFLAGS += -DHIL_STUB_RUNTIME
else
  HIL_SRCS += $(RT_SRCS)
  HIL_CPPFLAGS += $(if $(wildcard $(EMC_ROOT)/runtime_c/src),-I$(EMC_ROOT)/runtime_c/src) \
                  $(if $(wildcard $(EMC_ROOT)/runtime_c/kernels),-I$(EMC_ROOT)/runtime_c/kernels)
endif
# Float layers must round after every multiply and add, like the host runtime and the Python
# reference: no fused multiply-add on any target.
HIL_CFLAGS := -ffp-contract=off
HIL_BUILD_ID := $(shell git -C $(EMC_ROOT) rev-parse --short HEAD 2>/dev/null || echo unknown)
HIL_CPPFLAGS += -DHIL_BUILD_ID=$(HIL_BUILD_ID)-$(RUNTIME_KIND)
